// Transpiles the component, unchanged, into JavaScript + core wasm with jco.
// Its one outgoing-HTTP import goes to ./egress.js; every other WASI import
// to @bytecodealliance/preview2-shim.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const component = process.env.COMPONENT
  ?? path.join(here, '../../target/wasm32-wasip2/guest/send_conversion_event.wasm');
if (!existsSync(component)) {
  console.error(`${component} not found: build it with \`make component\` first (or set COMPONENT)`);
  process.exit(1);
}
execFileSync(
  path.join(here, 'node_modules/.bin/jco'),
  ['transpile', component, '-o', path.join(here, 'gen'), '-q',
    '--map', 'wasi:http/outgoing-handler=../egress.js#outgoingHandler'],
  { stdio: 'inherit' },
);
