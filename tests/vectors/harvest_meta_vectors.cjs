// Collects the input → expected pairs of Meta's capi-param-builder
// normaliser tests: each test file runs against a stand-in for the module
// it tests, which records the arguments of every call, and `expect` pairs
// the recorded arguments with the value the test expects.
const fs = require('fs');
const vm = require('vm');
const path = require('path');
const [dir, commit] = process.argv.slice(2);
const KEYS = {
  getNormalizedGender: 'ge', getNormalizedName: 'fn', getNormalizedCity: 'ct',
  getNormalizedState: 'st', getNormalizedCountry: 'country', getNormalizedZipCode: 'zp',
  getNormalizedPhone: 'ph', getNormalizedEmail: 'em', getNormalizedDOB: 'db',
};
const out = [];
for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.test.js')).sort()) {
  const SENTINEL = { sentinel: true };
  let last = null;
  const stub = new Proxy({}, { get: (_, name) => (...args) => { last = { name, args }; return SENTINEL; } });
  const record = (value, expected) => {
    if (value === SENTINEL && last && typeof last.args[0] === 'string' && KEYS[last.name]) {
      out.push({ key: KEYS[last.name], input: last.args[0], meta: expected, source: `facebook/capi-param-builder@${commit.slice(0, 12)} nodejs/capi-param-builder/tests/${file}` });
    }
  };
  const matchers = (v) => ({
    toEqual: (e) => record(v, e), toBe: (e) => record(v, e), toStrictEqual: (e) => record(v, e),
    toBeNull: () => record(v, null), toBeUndefined: () => {}, toThrow: () => {}, toBeTruthy: () => {},
    toBeFalsy: () => {}, toMatch: () => {}, toHaveLength: () => {}, toBeDefined: () => {},
    toContain: () => {}, toHaveBeenCalledWith: () => {}, toBeGreaterThan: () => {},
    not: new Proxy({}, { get: () => () => {} }),
  });
  const run = (_, fn) => { try { fn && fn(); } catch (e) { /* a test that throws on the stand-in */ } };
  const context = {
    require: (p) => (p.includes('piiUtil') ? stub : require(p)),
    describe: run, test: run, it: run, beforeEach: () => {}, afterEach: () => {},
    expect: matchers, jest: { fn: () => () => {}, mock: () => {}, clearAllMocks: () => {} },
    console, String, Number, Array, Object, JSON, Symbol, Set, Map,
  };
  context.describe.each = () => run; context.test.each = (rows) => (_, fn) => rows.forEach((r) => { try { Array.isArray(r) ? fn(...r) : fn(r); } catch (e) {} });
  vm.runInNewContext(fs.readFileSync(path.join(dir, file), 'utf8'), context);
}
const seen = new Set();
for (const v of out) {
  const k = JSON.stringify([v.key, v.input, v.meta]);
  if (!seen.has(k)) { seen.add(k); console.log(JSON.stringify(v)); }
}
