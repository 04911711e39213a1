// Sends one event from Node to the Graph API double: starts
// `host-harness graph-double` on a free port and points GRAPH_URL at it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const harness = process.env.HOST_HARNESS ?? path.join(here, '../../target/debug/host-harness');
let double;
let doubleUrl;

before(async () => {
  double = spawn(harness, ['graph-double', '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  doubleUrl = await new Promise((resolve, reject) => {
    let out = '';
    double.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) resolve(m[1]);
    });
    double.on('exit', (code) => reject(new Error(`graph-double exited with ${code}`)));
  });
  process.env.GRAPH_URL = doubleUrl;
});

after(() => double?.kill());

test('the component, unchanged, sends a Purchase from Node to the double', async () => {
  const { describe, sendConversion, validateSettings } = await import('./host.mjs');
  assert.equal(describe().name, 'send-conversion-event');
  const settings = { pixel_id: '1234567890', access_token: 'double-token', event: 'Purchase', action_source: 'email' };
  assert.deepEqual(validateSettings(settings), []);
  const outcome = sendConversion(
    settings,
    { id: 'node-1', type: 'order_placed', occurredAt: new Date(Date.now() - 60_000).toISOString(),
      data: { order: { id: 'NODE-ORDER-1', total: 42.5, currency: 'EUR' } } },
    { id: 'c-node', emails: ['Ada@Example.com'], phones: ['+44 20 7946 0018'], firstName: 'Ada', country: 'GB' },
  );
  assert.equal(outcome.eventName, 'Purchase');
  assert.equal(outcome.eventId, 'NODE-ORDER-1');
  assert.equal(outcome.eventsReceived, 1);
  assert.ok(outcome.matchKeys.em, 'the match-keys flags carry the email');

  const received = await (await fetch(`${doubleUrl}/_double/events`)).json();
  assert.equal(received.length, 1);
  const sha = (s) => createHash('sha256').update(s).digest('hex');
  assert.equal(received[0].event.user_data.em, sha('ada@example.com'));
  assert.equal(received[0].event.user_data.ph, sha('442079460018'));
  assert.equal(received[0].event.custom_data.value, 42.5);
});

test('a refused token comes back as the typed failure', async () => {
  const { sendConversion } = await import('./host.mjs');
  assert.throws(
    () => sendConversion(
      { pixel_id: '1', access_token: 'revoked', event: 'Lead', action_source: 'email' },
      { id: 'node-2', type: 'form_submitted', occurredAt: new Date().toISOString() },
      { id: 'c-node', emails: ['a@example.com'] },
    ),
    (err) => {
      const failure = err.payload;
      assert.equal(failure.error.tag, 'rejected');
      assert.equal(failure.error.val.code, 190);
      assert.equal(failure.error.val.retriable, false);
      return true;
    },
  );
});
