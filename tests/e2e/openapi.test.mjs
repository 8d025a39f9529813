// docs/openapi.yaml against the real binary. The document is first checked
// against the OpenAPI 3.1 schema (@seriousme/openapi-schema-validator); then
// real answers are produced for every route it describes and each one is
// checked against it with Ajv (JSON Schema 2020-12, OpenAPI 3.1's dialect):
// the status must be documented for that path and method, the content-type
// must be one of the response's media types (exactly), the body must match
// that media type's schema, and every documented header must be present
// when required and match its schema when present. At the end, every path +
// method + status + media type in the document, and every error text it
// enumerates, must have been produced at least once: the test fails when the
// document describes something nothing produced, and when the server
// answers something the document does not describe. The `webhooks`
// (section 14) are checked the other way round: a server with WEBHOOK_URL
// POSTs real events to a receiver here, and each POST (its content-type, its
// hopeflow-signature, its body) must match the webhook it claims to be;
// every documented webhook must have been received.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import YAML from 'yaml';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { Validator } from '@seriousme/openapi-schema-validator';
import {
  Client, WEBHOOK_SECRET, WebSocket, connect, freePort, publish, signatureOk, sleep, startReceiver, startServer, token,
} from './helpers.mjs';

const DOC_FILE = new URL('../../docs/openapi.yaml', import.meta.url).pathname;
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const PUBLISH_SECRET = 'openapi-publisher-secret-at-least-32-bytes!';
const WS_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const UNTIL_ERROR = 'until must be "all", "first" or a positive integer';
const USER_IDS_ERROR = 'userIds must be an array of 1-1000 non-blank strings';
const WEBHOOK_ERROR = 'webhook must be a boolean';

// --- the document ------------------------------------------------------------

let doc;  // with every $ref resolved
const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats(ajv);
const compiled = new WeakMap();
function validatorOf(schema) {
  if (!compiled.has(schema)) compiled.set(schema, ajv.compile(schema));
  return compiled.get(schema);
}
function assertValid(schema, value, what) {
  const v = validatorOf(schema);
  assert.ok(v(value), `${what}: ${ajv.errorsText(v.errors)}; got ${JSON.stringify(value)?.slice(0, 300)}`);
}

// --- what was exercised --------------------------------------------------------

const seen = new Set();           // "path METHOD status media"
const seenValues = new Map();     // same key -> texts and error strings seen
const seenHeaders = new Set();    // "path METHOD status header" for documented headers that were present
const seenWebhooks = new Set();   // names of the webhooks a real POST matched
const keyOf = (path, method, status, media) => `${path} ${method.toUpperCase()} ${status} ${media ?? '(no content)'}`;

// Checks one answer against a response object of the document; returns the
// media type it matched (undefined for a response without content).
function checkResponse(what, response, method, ans) {
  for (const [name, h] of Object.entries(response.headers ?? {})) {
    if (name.toLowerCase() === 'content-type') continue;  // ignored by OpenAPI
    const value = ans.headers[name.toLowerCase()];
    if (h.required) assert.notEqual(value, undefined, `${what}: header ${name} is required`);
    if (value !== undefined) assertValid(h.schema, value, `${what}: header ${name}`);
  }
  if (!response.content) {
    assert.equal(ans.body, '', `${what}: no body documented`);
    return { media: undefined };
  }
  const media = ans.headers['content-type'];
  assert.ok(Object.hasOwn(response.content, media),
    `${what}: content-type ${JSON.stringify(media)} is not one of ${JSON.stringify(Object.keys(response.content))}`);
  // A HEAD answer never needs its body; when one is sent it must be the documented one.
  if (method.toUpperCase() === 'HEAD' && ans.body === '') return { media };
  let value = ans.body;
  if (media.startsWith('application/json')) {
    try { value = JSON.parse(ans.body); } catch { assert.fail(`${what}: body is not JSON: ${ans.body.slice(0, 200)}`); }
  }
  assertValid(response.content[media].schema, value, `${what}: body`);
  return { media, value };
}

// Checks an answer to `method path` against the operation's documented
// responses and records it as exercised.
function check(path, method, ans) {
  const what = `${method} ${path} -> ${ans.status}`;
  const op = doc.paths[path]?.[method.toLowerCase()];
  assert.ok(op, `${method} ${path} is not in docs/openapi.yaml`);
  const response = op.responses[String(ans.status)];
  assert.ok(response, `${what}: status not documented (body ${JSON.stringify(ans.body.slice(0, 200))})`);
  const { media, value } = checkResponse(what, response, method, ans);
  const key = keyOf(path, method, ans.status, media);
  seen.add(key);
  for (const name of Object.keys(response.headers ?? {})) {
    if (ans.headers[name.toLowerCase()] !== undefined) seenHeaders.add(`${path} ${method.toUpperCase()} ${ans.status} header ${name}`);
  }
  const text = typeof value === 'string' ? value : typeof value?.error === 'string' ? value.error : undefined;
  if (text !== undefined) {
    if (!seenValues.has(key)) seenValues.set(key, new Set());
    seenValues.get(key).add(text);
  }
  return ans;
}

// Every documented path + method + status + media type, and the texts each
// one enumerates (a text body's const/enum, a JSON error's const/enum).
function documented() {
  const keys = new Map();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      for (const [status, response] of Object.entries(op.responses)) {
        const medias = response.content ? Object.keys(response.content) : [undefined];
        for (const media of medias) {
          const schema = media && response.content[media].schema;
          const source = schema?.properties?.error ?? schema ?? {};
          const texts = source.enum ?? (source.const !== undefined ? [source.const] : []);
          keys.set(keyOf(path, method, status, media), texts.filter((t) => typeof t === 'string'));
        }
      }
    }
  }
  return keys;
}

// Every response header the document names (content-type aside), as
// "path METHOD status header name".
function documentedHeaders() {
  const out = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      for (const [status, response] of Object.entries(item[method]?.responses ?? {})) {
        for (const name of Object.keys(response.headers ?? {})) {
          if (name.toLowerCase() !== 'content-type') out.push(`${path} ${method.toUpperCase()} ${status} header ${name}`);
        }
      }
    }
  }
  return out;
}

// --- talking to the server -----------------------------------------------------

// An answer from fetch, in the shape check() reads.
async function viaFetch(url, init = {}) {
  const res = await fetch(url, init);
  return { status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() };
}

// One request written on its own connection, read until the server closes
// it (or `timeoutMs`); the answer parsed. `bytes` may be cut short on
// purpose (408). Write errors are ignored: a server that answers before
// reading (503 at MAX_CONNECTIONS) may close first.
function raw(port, bytes, { timeoutMs = 4000, isHead = false } = {}) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(bytes));
    let data = Buffer.alloc(0);
    const done = () => {
      clearTimeout(timer);
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) return reject(new Error(`no answer: ${JSON.stringify(data.toString('latin1'))}`));
      const [statusLine, ...lines] = data.subarray(0, end).toString('latin1').split('\r\n');
      const headers = {};
      for (const l of lines) headers[l.slice(0, l.indexOf(':')).trim().toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
      let body = data.subarray(end + 4);
      if (headers['content-length'] !== undefined && !isHead) body = body.subarray(0, Number(headers['content-length']));
      resolve({ status: Number(statusLine.split(' ')[1]), statusLine, headers, body: body.toString('utf8') });
    };
    const timer = setTimeout(() => { s.destroy(); done(); }, timeoutMs);
    s.on('data', (d) => { data = Buffer.concat([data, d]); });
    s.on('close', done);
    s.on('error', () => {});
  });
}

// The operations of the document, each with a request that reaches it.
const ROSTER = '/users/{userId}/devices';
const OPERATIONS = [
  ['/publish', 'POST'], ['/publish', 'OPTIONS'], ['/', 'GET'], [ROSTER, 'GET'], [ROSTER, 'OPTIONS'],
  ['/healthz', 'GET'], ['/healthz', 'HEAD'], ['/readyz', 'GET'], ['/readyz', 'HEAD'],
  ['/metrics', 'GET'], ['/metrics', 'HEAD'],
  ['/console', 'GET'], ['/console/', 'GET'], ['/console/app.js', 'GET'], ['/console/sdk.js', 'GET'],
  ['/sdk/realtime.js', 'GET'], ['/sdk/realtime.js', 'HEAD'],
];
// A documented path with its parameters filled in.
const concrete = (path) => path.replace('{userId}', 'openapi-user');
// The request line and headers of a well-formed request for `path`/`method`
// (without the blank line that ends them), and its body.
function requestFor(path, method, tok, { target = concrete(path), extra = [], hosts = ['x'] } = {}) {
  const lines = [`${method} ${target} HTTP/1.1`, ...hosts.map((h) => `Host: ${h}`)];
  let body = '';
  if (path === '/' && method === 'GET') {
    lines.push('Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Version: 13', `Sec-WebSocket-Key: ${WS_KEY}`, `Authorization: Bearer ${tok}`);
  } else {
    lines.push('Connection: close');
  }
  if (path === ROSTER && method === 'GET') lines.push(`Authorization: Bearer ${tok}`);
  if (method === 'POST') {
    body = '{"userId":"u"}';
    lines.push(`Authorization: Bearer ${tok}`, 'Content-Type: application/json', `Content-Length: ${body.length}`);
  }
  return { head: [...lines, ...extra].join('\r\n'), body };
}
const full = (r) => `${r.head}\r\n\r\n${r.body}`;

// --- the test ----------------------------------------------------------------------

describe('docs/openapi.yaml', () => {
  let main;      // defaults, MAX_SOCKETS_PER_USER=1, MAX_ACK_RESULT_BYTES=16
  let gated;     // CONSOLE=1, SERVE_SDK=1, PUBLISH_SECRET
  let full503;   // MAX_CONNECTIONS=2
  let noRedis;   // cluster mode with Redis unreachable
  let hooked;    // WEBHOOK_URL pointing at `receiver` (section 14)
  let receiver;
  let endUser, publisher;

  before(async () => {
    const validator = new Validator();
    const parsed = YAML.parse(readFileSync(DOC_FILE, 'utf8'));
    const res = await validator.validate(parsed);
    assert.ok(res.valid, `docs/openapi.yaml is not a valid OpenAPI document: ${JSON.stringify(res.errors, null, 1)}`);
    assert.equal(validator.version, '3.1');
    doc = validator.resolveRefs();
    assert.ok(!JSON.stringify(doc).includes('"$ref"'), 'every $ref resolved');
    receiver = await startReceiver();
    [main, gated, full503, noRedis, hooked] = await Promise.all([
      startServer({ single: true, env: { MAX_SOCKETS_PER_USER: '1', MAX_ACK_RESULT_BYTES: '16' } }),
      startServer({ single: true, env: { CONSOLE: '1', SERVE_SDK: '1', PUBLISH_SECRET } }),
      startServer({ single: true, env: { MAX_CONNECTIONS: '2' } }),
      freePort().then((p) => startServer({ single: true, env: { REDIS_URL: `redis://127.0.0.1:${p}`, REDIS_REQUIRED: '0' } })),
      startServer({ single: true, env: { WEBHOOK_URL: receiver.url, WEBHOOK_SECRET, LATE_ACK_MS: '5000' } }),
    ]);
    endUser = await token('openapi-publisher');
    publisher = await token(undefined, { secret: PUBLISH_SECRET });
  });
  after(async () => {
    await Promise.all([main, gated, full503, noRedis, hooked].filter(Boolean).map((s) => s.stop()));
    await receiver?.stop();
  });

  it('is a valid OpenAPI 3.1 document whose schemas all compile', () => {
    const schemas = [];
    const walk = (o) => {
      if (!o || typeof o !== 'object') return;
      if (o.schema && typeof o.schema === 'object') schemas.push(o.schema);
      for (const v of Object.values(o)) walk(v);
    };
    walk(doc.paths);
    walk(doc.webhooks);
    assert.ok(schemas.length > 20);
    for (const s of schemas) validatorOf(s);
  });

  describe('POST /publish', () => {
    const requestSchema = () => doc.paths['/publish'].post.requestBody.content['application/json'].schema;
    const post = async (server, body, opts) => {
      const r = await publish(server, body, opts);
      return check('/publish', 'POST', { status: r.status, headers: Object.fromEntries(r.headers), body: r.text });
    };

    it('200 with no target: {"clientCount":0,"results":[]}, the token in the header or the query', async () => {
      for (const body of [{ userId: 'nobody' }, { userId: ' nobody ', type: 5, payload: null }, { userId: 'nobody', type: 'x', ackTimeoutMs: 2.5, envelopeId: 'ignored', extra: 1 }]) {
        assertValid(requestSchema(), body, 'a body the server accepts');
        const r = await post(main, body, { tok: endUser });
        assert.equal(r.status, 200);
        assert.deepEqual(JSON.parse(r.body), { clientCount: 0, results: [] });
      }
      const q = await post(main, { userId: 'nobody' }, { tok: null, query: `?token=${encodeURIComponent(endUser)}` });
      assert.equal(q.status, 200);
      // Section 12's members at their defaults change nothing; receipts add `devices` (empty here).
      const sectionTwelve = [
        [{ userId: 'nobody', receipts: false, until: 'all', cancel: false }, '{"clientCount":0,"results":[]}'],
        [{ userId: 'nobody', until: 'first', cancel: true }, '{"clientCount":0,"results":[]}'],
        [{ userId: 'nobody', until: 4294967296 }, '{"clientCount":0,"results":[]}'],
        [{ userId: 'nobody', receipts: true, until: 3, ackTimeoutMs: 0 }, '{"clientCount":0,"results":[],"devices":[]}'],
      ];
      for (const [body, answer] of sectionTwelve) {
        assertValid(requestSchema(), body, 'a body the server accepts');
        const r = await post(main, body, { tok: endUser });
        assert.equal(r.status, 200, JSON.stringify(body));
        assert.equal(r.body, answer, JSON.stringify(body));
      }
    });

    it('200 with one acking socket, with ackTimeoutMs 0, and with resultsDropped (also with receipts)', async () => {
      const c = await connect(main, 'openapi-acker', { path: '/?device=acker-1' });
      await c.subscribe([{ type: 'note' }]);
      c.autoAck((e) => (e.payload?.big ? 'r'.repeat(64) : { read: true }));
      const r = await post(main, { userId: 'openapi-acker', type: 'note', payload: { text: 'hi' } }, { tok: endUser });
      assert.equal(r.status, 200);
      assert.deepEqual(JSON.parse(r.body), { clientCount: 1, results: [{ read: true }] });
      const quick = await post(main, { userId: 'openapi-acker', type: 'note', ackTimeoutMs: 0 }, { tok: endUser });
      assert.deepEqual(JSON.parse(quick.body), { clientCount: 1, results: [] });
      // A result above MAX_ACK_RESULT_BYTES (16 here) is left out and counted.
      const dropped = await post(main, { userId: 'openapi-acker', type: 'note', payload: { big: true } }, { tok: endUser });
      assert.deepEqual(JSON.parse(dropped.body), { clientCount: 1, results: [], resultsDropped: 1 });
      // Receipts (section 12): the acked entry has result and ackMs; with
      // the result left out it has no result, and resultsDropped follows devices.
      const kept = JSON.parse((await post(main, { userId: 'openapi-acker', type: 'note', receipts: true }, { tok: endUser })).body);
      assert.deepEqual(Object.keys(kept), ['clientCount', 'results', 'devices']);
      assert.deepEqual(kept.devices.map((d) => Object.keys(d)), [['device', 'state', 'result', 'ackMs']]);
      assert.deepEqual({ ...kept.devices[0], ackMs: 0 }, { device: 'acker-1', state: 'acked', result: { read: true }, ackMs: 0 });
      const both = JSON.parse((await post(main, { userId: 'openapi-acker', type: 'note', payload: { big: true }, receipts: true }, { tok: endUser })).body);
      assert.deepEqual(Object.keys(both), ['clientCount', 'results', 'devices', 'resultsDropped']);
      assert.deepEqual({ ...both, devices: both.devices.map((d) => ({ ...d, ackMs: 0 })) },
        { clientCount: 1, results: [], devices: [{ device: 'acker-1', state: 'acked', ackMs: 0 }], resultsDropped: 1 });
      await c.close();
    });

    it('200 with receipts, until and cancel: acked, pending and gone entries; cancel frames match CancelFrame', async () => {
      // On `gated` (PUBLISH_SECRET: publishes with the publisher token), where a user may hold several sockets.
      const user = 'openapi-receipts';
      const phone = await connect(gated, user, { path: '/?device=phone' });
      const laptop = await connect(gated, user, { path: '/?device=laptop' });
      const nameless = await connect(gated, user);
      for (const c of [phone, laptop, nameless]) await c.subscribe([{ type: 'call' }]);
      const phoneFrames = [];
      phone.auto = (m) => {
        const f = JSON.parse(m);
        phoneFrames.push(f);
        if (f.envelopeId && f.type === 'call') setTimeout(() => phone.ack(f.envelopeId, 'accepted'), 30);
      };
      const body = { userId: user, type: 'call', payload: { from: 'ann' }, receipts: true, until: 'first', cancel: true, ackTimeoutMs: 4000 };
      assertValid(requestSchema(), body, 'a body the server accepts');
      const started = performance.now();
      const r = await post(gated, body, { tok: publisher });
      assert.equal(r.status, 200);
      assert.ok(performance.now() - started < 2000, 'answered at the first ack, not at the deadline');
      const answer = JSON.parse(r.body);
      assert.equal(answer.clientCount, 3);
      assert.deepEqual(answer.results, ['accepted']);
      assert.deepEqual(answer.devices.map((d) => [d.device, d.state]), [['phone', 'acked'], ['laptop', 'pending'], [null, 'pending']]);
      assert.equal(answer.devices[0].result, 'accepted');
      // The named socket that did not ack is told, once; the nameless one and the acker never.
      const envelope = await laptop.nextJson();
      const cancel = await laptop.nextJson();
      assertValid(doc.components.schemas.CancelFrame, cancel, 'the cancel frame');
      assert.deepEqual(cancel, { type: 'cancel', envelopeId: envelope.envelopeId });
      await sleep(100);
      await laptop.barrier();
      assert.equal((await nameless.nextJson()).envelopeId, envelope.envelopeId);
      await nameless.barrier();
      assert.deepEqual(phoneFrames.map((f) => f.type), ['call']);
      // until n: answered once two targets acked.
      for (const c of [laptop, nameless]) c.autoAck(() => 'ok');
      const two = await post(gated, { userId: user, type: 'call', until: 2, receipts: true, ackTimeoutMs: 4000 }, { tok: publisher });
      assert.ok(JSON.parse(two.body).results.length >= 2);
      for (const c of [phone, laptop, nameless]) await c.close();
    });

    it('200 with receipts: a socket replaced by a newer one of its device (4002) is gone', async () => {
      const user = 'openapi-replaced';
      const old = await connect(gated, user, { path: '/?device=phone' });
      await old.subscribe([{ type: 'm' }]);
      const pending = post(gated, { userId: user, type: 'm', receipts: true, ackTimeoutMs: 4000 }, { tok: publisher });
      await old.next();
      const fresh = await connect(gated, user, { path: '/?device=phone' });
      assert.deepEqual(await old.closed, { code: 4002, reason: 'replaced' });
      const r = await pending;
      assert.deepEqual(JSON.parse(r.body), { clientCount: 1, results: [], devices: [{ device: 'phone', state: 'gone' }] });
      await fresh.close();
    });

    it('200 with userIds (section 15): ManyUsersAnswer, with receipts and with resultsDropped', async () => {
      const ann = await connect(main, 'openapi-many-ann', { path: '/?device=phone' });
      const bob = await connect(main, 'openapi-many-bob');
      for (const c of [ann, bob]) await c.subscribe([{ type: 'many' }]);
      ann.autoAck(() => 'ann');
      bob.autoAck((e) => (e.payload?.big ? 'r'.repeat(64) : { bob: true }));
      const users = ['openapi-many-ann', 'openapi-many-bob', 'openapi-many-nobody'];
      const body = { userIds: [...users, ' openapi-many-ann '], type: 'many', payload: { n: 1 } };
      assertValid(requestSchema(), body, 'a body the server accepts');
      const r = await post(main, body, { tok: endUser });
      assert.equal(r.status, 200);
      const answer = JSON.parse(r.body);
      assert.deepEqual(Object.keys(answer), ['clientCount', 'results', 'users']);
      assert.deepEqual(Object.keys(answer.users), users);
      assert.deepEqual(answer.results, ['ann', { bob: true }]);
      assert.deepEqual(Object.keys(answer.users['openapi-many-ann']), ['clientCount', 'results', 'envelopeId']);
      const withReceipts = JSON.parse((await post(main, { userIds: users, type: 'many', receipts: true }, { tok: endUser })).body);
      assert.deepEqual(Object.keys(withReceipts), ['clientCount', 'results', 'users']);
      assert.deepEqual(withReceipts.users['openapi-many-ann'].devices.map((d) => [d.device, d.state]), [['phone', 'acked']]);
      assert.deepEqual(Object.keys(withReceipts.users['openapi-many-bob']), ['clientCount', 'results', 'devices', 'envelopeId']);
      // bob's result is above MAX_ACK_RESULT_BYTES (16 here): left out, counted for bob and in the sum.
      const dropped = JSON.parse((await post(main, { userIds: users, type: 'many', payload: { big: true } }, { tok: endUser })).body);
      assert.deepEqual(Object.keys(dropped), ['clientCount', 'results', 'users', 'resultsDropped']);
      assert.equal(dropped.resultsDropped, 1);
      assert.deepEqual(Object.keys(dropped.users['openapi-many-bob']), ['clientCount', 'results', 'resultsDropped', 'envelopeId']);
      for (const c of [ann, bob]) await c.close();
    });

    it('400 for each body error, in JSON; the request schema refuses the same bodies', async () => {
      const cases = [
        ['x', 'Invalid JSON body'],
        ['', 'Invalid JSON body'],
        ['{"userId":"\\ud800"}', 'Invalid JSON body'],
        [`{"userId":"u","payload":${'['.repeat(70)}${']'.repeat(70)}}`, 'Invalid JSON body'],
        ['null', 'userId is required'],
        ['[{"userId":"u"}]', 'userId is required'],
        ['{}', 'userId is required'],
        ['{"userId":"  "}', 'userId is required'],
        ['{"userId":"\\u00a0\\n"}', 'userId is required'],
        ['{"userId":7}', 'userId is required'],
        ['{"userId":"u","ackTimeoutMs":-5}', 'ackTimeoutMs must be a non-negative number'],
        ['{"userId":"u","ackTimeoutMs":"100"}', 'ackTimeoutMs must be a non-negative number'],
        ['{"userId":"u","ackTimeoutMs":null}', 'ackTimeoutMs must be a non-negative number'],
        ['{"userId":"u","ackTimeoutMs":-1,"receipts":"x"}', 'ackTimeoutMs must be a non-negative number'],
        ['{"userId":"u","receipts":"yes"}', 'receipts must be a boolean'],
        ['{"userId":"u","receipts":null}', 'receipts must be a boolean'],
        ['{"userId":"u","receipts":1}', 'receipts must be a boolean'],
        ['{"userId":"u","receipts":"true","until":0}', 'receipts must be a boolean'],
        ['{"userId":"u","until":"ALL"}', UNTIL_ERROR],
        ['{"userId":"u","until":"First"}', UNTIL_ERROR],
        ['{"userId":"u","until":"1"}', UNTIL_ERROR],
        ['{"userId":"u","until":0}', UNTIL_ERROR],
        ['{"userId":"u","until":-1}', UNTIL_ERROR],
        ['{"userId":"u","until":1.5}', UNTIL_ERROR],
        ['{"userId":"u","until":null}', UNTIL_ERROR],
        ['{"userId":"u","until":true}', UNTIL_ERROR],
        ['{"userId":"u","until":0,"cancel":1}', UNTIL_ERROR],
        ['{"userId":"u","cancel":1}', 'cancel must be a boolean'],
        ['{"userId":"u","cancel":"true"}', 'cancel must be a boolean'],
        ['{"userId":"u","cancel":null}', 'cancel must be a boolean'],
        ['{"userId":"u","cancel":1,"webhook":1}', 'cancel must be a boolean'],
        ['{"userId":"u","webhook":"true"}', WEBHOOK_ERROR],
        ['{"userId":"u","webhook":1}', WEBHOOK_ERROR],
        ['{"userId":"u","webhook":null}', WEBHOOK_ERROR],
        ['{"userIds":["u"],"webhook":{}}', WEBHOOK_ERROR],
        ['{"userIds":"u"}', USER_IDS_ERROR],
        ['{"userIds":null}', USER_IDS_ERROR],
        ['{"userIds":[]}', USER_IDS_ERROR],
        ['{"userIds":["u",5]}', USER_IDS_ERROR],
        ['{"userIds":["u"," "]}', USER_IDS_ERROR],
        [JSON.stringify({ userIds: Array.from({ length: 1001 }, (_, i) => `u${i}`) }), USER_IDS_ERROR],
        ['{"userIds":["u"],"userId":"u"}', USER_IDS_ERROR],
        ['{"userIds":["u"],"userId":null}', USER_IDS_ERROR],
        ['{"userIds":7,"ackTimeoutMs":-1}', USER_IDS_ERROR],
        ['{"userIds":["u"],"ackTimeoutMs":-1}', 'ackTimeoutMs must be a non-negative number'],
      ];
      for (const [body, error] of cases) {
        const r = await post(main, body, { tok: endUser });
        assert.equal(r.status, 400, body);
        assert.deepEqual(JSON.parse(r.body), { error }, body);
        let parsed;
        try { parsed = JSON.parse(body); } catch { continue; }
        if (error !== 'Invalid JSON body') assert.equal(validatorOf(requestSchema())(parsed), false, `the request schema accepts ${body}`);
      }
    });

    it('400 Bad Request (text) for malformed HTTP', async () => {
      const t = endUser;
      const head = `POST /publish HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t}\r\nContent-Type: application/json\r\n`;
      for (const bytes of [
        `${head}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
        `${head}Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
        `${head}Host: y\r\nContent-Length: 2\r\n\r\n{}`,
      ]) {
        const r = check('/publish', 'POST', await raw(main.port, bytes));
        assert.equal(r.status, 400);
      }
    });

    it('401 without a token or with a bad one', async () => {
      for (const tok of [null, 'not-a-token', await token('x', { secret: 'another-secret-that-is-at-least-32-bytes!' })]) {
        const r = await post(main, { userId: 'u' }, { tok });
        assert.equal(r.status, 401);
      }
    });

    it('403 for an end-user token with PUBLISH_SECRET set; 200 for a publisher token', async () => {
      assert.equal((await post(gated, { userId: 'u' }, { tok: endUser })).status, 403);
      assert.equal((await post(gated, { userId: 'u' }, { tok: publisher })).status, 200);
    });

    it('413 above MAX_BODY_BYTES, 415 without application/json', async () => {
      const big = await post(main, JSON.stringify({ userId: 'x', payload: 'p'.repeat(2 << 20) }), { tok: endUser });
      assert.equal(big.status, 413);
      for (const contentType of [null, 'text/plain']) {
        assert.equal((await post(main, { userId: 'u' }, { tok: endUser, contentType })).status, 415);
      }
    });

    it('200 with hopeflow-degraded: local-only while Redis is unreachable (cluster mode)', async () => {
      const r = await post(noRedis, { userId: 'nobody' }, { tok: endUser });
      assert.equal(r.status, 200);
      assert.equal(r.headers['hopeflow-degraded'], 'local-only');
    });

    // Section 15: Idempotency-Key.
    const keySchema = () => doc.paths['/publish'].post.parameters.find((p) => p.in === 'header' && p.name === 'Idempotency-Key').schema;
    const keyed = async (server, body, key, { tok = endUser } = {}) => {
      const headers = { authorization: `Bearer ${tok}`, 'content-type': 'application/json', 'idempotency-key': key };
      return check('/publish', 'POST', await viaFetch(`${server.http}/publish`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) }));
    };

    it('200 with idempotent-replayed: true for the same Idempotency-Key and body, with the first answer\'s hopeflow-degraded', async () => {
      for (const key of ['openapi-replay-1', 'a key ~with spaces', 'k'.repeat(255)]) {
        assertValid(keySchema(), key, 'a key the server accepts');
        const first = await keyed(main, { userId: 'nobody', type: 'x', payload: { n: 1 } }, key);
        assert.equal(first.status, 200);
        assert.equal(first.headers['idempotent-replayed'], undefined, 'never on a first answer');
        // Member order and white space do not matter; 1.0 is 1.
        const again = await keyed(main, ' { "payload": {"n": 1.0}, "type": "x", "userId": "nobody" }', key);
        assert.equal(again.status, 200);
        assert.equal(again.body, first.body);
        assert.equal(again.headers['idempotent-replayed'], 'true');
        assert.equal(again.headers['hopeflow-degraded'], undefined);
      }
      // The first answer's hopeflow-degraded comes back with the replay.
      const first = await keyed(noRedis, { userId: 'nobody' }, 'openapi-replay-degraded');
      assert.equal(first.headers['hopeflow-degraded'], 'local-only');
      assert.equal(first.headers['idempotent-replayed'], undefined);
      const again = await keyed(noRedis, { userId: 'nobody' }, 'openapi-replay-degraded');
      assert.equal(again.status, 200);
      assert.equal(again.body, first.body);
      assert.equal(again.headers['idempotent-replayed'], 'true');
      assert.equal(again.headers['hopeflow-degraded'], 'local-only');
    });

    it('409 for a key whose publish is still waiting for acks; 422 for a key reused with another body; the replay delivers nothing', async () => {
      const user = 'openapi-idem-slow';
      const key = 'openapi-in-flight';
      const body = { userId: user, type: 'm', payload: { n: 1 }, ackTimeoutMs: 1500 };
      const s = await connect(main, user);
      await s.subscribe([{ type: 'm' }]);  // never acks
      const started = performance.now();
      const slow = keyed(main, body, key);
      const envelope = JSON.parse(await s.next());
      assert.equal(envelope.type, 'm');
      const busy = await keyed(main, body, key);
      assert.equal(busy.status, 409);
      assert.deepEqual(JSON.parse(busy.body), { error: 'A request with this Idempotency-Key is in progress' });
      const other = await keyed(main, { ...body, payload: { n: 2 } }, key);
      assert.equal(other.status, 422, 'another body, while the first is in flight');
      assert.deepEqual(JSON.parse(other.body), { error: 'Idempotency-Key reused with a different body' });
      assert.ok(performance.now() - started < 1400, 'the 409 and 422 came while the first was in flight');
      const done = await slow;
      assert.equal(done.status, 200);
      assert.equal(done.body, '{"clientCount":1,"results":[]}');
      assert.equal(done.headers['idempotent-replayed'], undefined);
      const replay = await keyed(main, body, key);
      assert.equal(replay.status, 200);
      assert.equal(replay.body, done.body);
      assert.equal(replay.headers['idempotent-replayed'], 'true');
      const late = await keyed(main, { userId: user, type: 'other' }, key);
      assert.equal(late.status, 422, 'another body, once the first was answered');
      // The only frame the socket got was the first envelope: next is the pong.
      await s.barrier();
      await s.close();
    });

    it('400 Invalid Idempotency-Key for a key that is empty, too long or holds another byte, after the body checks; the parameter schema refuses the same keys', async () => {
      for (const key of ['', 'x'.repeat(256)]) {
        assert.equal(validatorOf(keySchema())(key), false, `the parameter schema accepts a key of ${key.length} characters`);
        const r = await keyed(main, { userId: 'u' }, key);
        assert.equal(r.status, 400, `key of ${key.length} characters`);
        assert.deepEqual(JSON.parse(r.body), { error: 'Invalid Idempotency-Key' });
      }
      // Bytes fetch will not send: a tab inside the value, a latin-1 byte, UTF-8.
      for (const [key, bytes] of [['a\tb', 'a\tb'], ['caf\u00e9', 'caf\u00e9'], ['caf\u00e9 (UTF-8)', Buffer.from('caf\u00e9').toString('latin1')]]) {
        assert.equal(validatorOf(keySchema())(key), false, `the parameter schema accepts ${JSON.stringify(key)}`);
        const req = requestFor('/publish', 'POST', endUser, { extra: [`Idempotency-Key: ${bytes}`] });
        const r = check('/publish', 'POST', await raw(main.port, Buffer.from(full(req), 'latin1')));
        assert.equal(r.status, 400, JSON.stringify(key));
        assert.deepEqual(JSON.parse(r.body), { error: 'Invalid Idempotency-Key' }, JSON.stringify(key));
      }
      // The key is checked after the token and the body.
      assert.equal((await keyed(main, { userId: 'u' }, '', { tok: 'not-a-token' })).status, 401);
      assert.deepEqual(JSON.parse((await keyed(main, 'x', '')).body), { error: 'Invalid JSON body' });
      assert.deepEqual(JSON.parse((await keyed(main, { userId: 'u', until: 0 }, '')).body), { error: UNTIL_ERROR });
      // Section 14's checks come before the key too.
      assert.deepEqual(JSON.parse((await keyed(main, { userId: 'u', webhook: 'yes' }, '')).body), { error: WEBHOOK_ERROR });
      assert.deepEqual(JSON.parse((await keyed(main, { userId: 'u', webhook: true }, '')).body), { error: 'webhook is not configured' });
    });

    it('400 webhook is not configured: "webhook": true without WEBHOOK_URL (a body the schema accepts); false is fine', async () => {
      for (const body of [{ userId: 'u', webhook: true }, { userIds: ['u', 'v'], webhook: true, receipts: true }]) {
        assertValid(requestSchema(), body, 'a body the schema accepts');
        const r = await post(main, body, { tok: endUser });
        assert.equal(r.status, 400);
        assert.deepEqual(JSON.parse(r.body), { error: 'webhook is not configured' });
      }
      const off = await post(main, { userId: 'nobody', webhook: false }, { tok: endUser });
      assert.equal(off.body, '{"clientCount":0,"results":[]}');
    });
  });

  describe('webhooks (section 14): real POSTs against the `webhooks` of the document', () => {
    const requestSchema = () => doc.paths['/publish'].post.requestBody.content['application/json'].schema;
    const post = async (body) => {
      const r = await publish(hooked, body, { tok: endUser });
      return check('/publish', 'POST', { status: r.status, headers: Object.fromEntries(r.headers), body: r.text });
    };

    // Checks one POST the receiver got against the webhook of its `event`
    // and records that webhook as received; returns the event.
    function checkPost(p) {
      const name = p.json?.event;
      const op = doc.webhooks[name]?.post;
      assert.ok(op, `a POST for event ${JSON.stringify(name)}, which is not among the document's webhooks ${Object.keys(doc.webhooks)}`);
      const what = `webhook ${name}`;
      for (const param of op.parameters ?? []) {
        assert.equal(param.in, 'header');
        const value = p.headers[param.name.toLowerCase()];
        if (param.required) assert.notEqual(value, undefined, `${what}: header ${param.name} is required`);
        if (value !== undefined) assertValid(param.schema, value, `${what}: header ${param.name}`);
      }
      const media = p.headers['content-type'];
      assert.ok(Object.hasOwn(op.requestBody.content, media), `${what}: content-type ${JSON.stringify(media)} is not one of ${Object.keys(op.requestBody.content)}`);
      assertValid(op.requestBody.content[media].schema, p.json, `${what}: body`);
      // Each body matches its own webhook only.
      for (const [other, item] of Object.entries(doc.webhooks)) {
        if (other === name) continue;
        for (const c of Object.values(item.post.requestBody.content)) {
          assert.equal(validatorOf(c.schema)(p.json), false, `${what}: the body also matches webhook ${other}`);
        }
      }
      assert.ok(signatureOk(p), `${what}: hopeflow-signature ${p.headers['hopeflow-signature']} does not verify`);
      seenWebhooks.add(name);
      return p.json;
    }
    const received = async (pred) => {
      const e = await receiver.waitFor(pred);
      return checkPost(receiver.posts.find((p) => p.json?.id === e.id));
    };

    it('unacked: a publish that reached nobody, and one whose two targets did not ack; late_ack from each', async () => {
      const nobody = { userId: 'openapi-wh-nobody', type: 'call', payload: { from: 'ann' }, webhook: true };
      assertValid(requestSchema(), nobody, 'a body the server accepts');
      const r = await post(nobody);
      assert.equal(r.body, '{"clientCount":0,"results":[]}', 'the answer is unchanged');
      const first = await received((x) => x.envelope?.userId === 'openapi-wh-nobody');
      assert.deepEqual([first.event, first.clientCount, first.devices], ['unacked', 0, []]);

      const user = 'openapi-wh-late';
      const phone = await connect(hooked, user, { path: '/?device=phone' });
      const plain = await connect(hooked, user);
      for (const c of [phone, plain]) await c.subscribe([{ type: 'cmd' }]);
      const a = await post({ userId: user, type: 'cmd', webhook: true, ackTimeoutMs: 100 });  // no payload
      assert.equal(a.body, '{"clientCount":2,"results":[]}');
      const env = await phone.nextJson();
      await plain.nextJson();
      const unacked = await received((x) => x.event === 'unacked' && x.envelope?.userId === user);
      assert.deepEqual(unacked.envelope, env);
      assert.deepEqual(unacked.devices.map((d) => [d.device, d.state]).sort(), [[null, 'pending'], ['phone', 'pending']].sort());
      phone.ack(env.envelopeId, { done: true });
      plain.ack(env.envelopeId);
      const late = await received((x) => x.event === 'late_ack' && x.envelopeId === env.envelopeId && x.device === 'phone');
      assert.deepEqual(late.result, { done: true });
      const anonymous = await received((x) => x.event === 'late_ack' && x.envelopeId === env.envelopeId && x.device === null);
      assert.equal(anonymous.result, null);
      for (const c of [phone, plain]) await c.close();
    });

    it('a 2xx answer delivers the event; any other is answered by the same event again', async () => {
      const failOnce = new Set();
      receiver.answer = (p) => {
        if (p.json?.envelope?.userId !== 'openapi-wh-retry' || failOnce.has(p.json.id)) return 200;
        failOnce.add(p.json.id);
        return 503;
      };
      try {
        await post({ userId: 'openapi-wh-retry', webhook: true });
        const e = await received((x) => x.envelope?.userId === 'openapi-wh-retry');
        const attempts = receiver.posts.filter((p) => p.json?.id === e.id);
        assert.equal(attempts.length, 2, 'one refused, one delivered');
        assert.equal(attempts[0].body, attempts[1].body, 'the same body again');
        for (const p of attempts) checkPost(p);
      } finally {
        receiver.answer = () => 200;
      }
    });
  });

  describe('OPTIONS /publish', () => {
    it('204 with the CORS headers', async () => {
      const r = check('/publish', 'OPTIONS', await viaFetch(`${main.http}/publish`, { method: 'OPTIONS' }));
      assert.equal(r.status, 204);
    });
  });

  describe('GET and OPTIONS /users/{userId}/devices', () => {
    // `segment` is the path segment as sent (already percent-encoded).
    const get = async (server, segment, { tok, query = '' } = {}) =>
      check(ROSTER, 'GET', await viaFetch(`${server.http}/users/${segment}/devices${query}`, { headers: tok ? { authorization: `Bearer ${tok}` } : {} }));

    it('200: the open sockets, ordered by since, the token in the header or the query; the id decoded and trimmed', async () => {
      const empty = await get(main, 'openapi-nobody', { tok: endUser });
      assert.equal(empty.status, 200);
      assert.equal(empty.body, '{"userId":"openapi-nobody","devices":[]}');
      const q = await get(main, 'openapi-nobody', { query: `?token=${encodeURIComponent(endUser)}` });
      assert.equal(q.status, 200);
      // Several sockets of one user (on `gated`: main allows one per user).
      const user = 'openapi roster/+';
      const sockets = [];
      for (const path of ['/?device=tablet', '/', '/?device=phone']) {
        sockets.push(await connect(gated, user, { path }));
        await sleep(5);
      }
      const r = await get(gated, encodeURIComponent(` ${user} `), { tok: publisher });
      assert.equal(r.status, 200);
      const answer = JSON.parse(r.body);
      assert.equal(answer.userId, user, '%2F stays part of the id, + stays +, and the id is trimmed');
      assert.deepEqual(answer.devices.map((d) => d.device), ['tablet', null, 'phone']);
      assert.deepEqual(answer.devices.map((d) => d.since), answer.devices.map((d) => d.since).sort());
      for (const c of sockets) await c.close();
      await sleep(100);
      assert.deepEqual(JSON.parse((await get(gated, encodeURIComponent(user), { tok: publisher })).body).devices, []);
    });

    it('200 with hopeflow-degraded: local-only while Redis is unreachable (cluster mode)', async () => {
      const r = await get(noRedis, 'openapi-nobody', { tok: endUser });
      assert.equal(r.status, 200);
      assert.equal(r.headers['hopeflow-degraded'], 'local-only');
    });

    it('400 userId is required for a blank id; 401 without a valid token; 403 for an end-user token with PUBLISH_SECRET', async () => {
      for (const segment of ['%20', '%20%0A%09', '%C2%A0']) {
        const r = await get(main, segment, { tok: endUser });
        assert.equal(r.status, 400, segment);
        assert.deepEqual(JSON.parse(r.body), { error: 'userId is required' });
      }
      for (const tok of [undefined, 'not-a-token', await token('x', { secret: 'another-secret-that-is-at-least-32-bytes!' })]) {
        const r = await get(main, 'u', { tok });
        assert.equal(r.status, 401);
        assert.deepEqual(JSON.parse(r.body), { error: 'Unauthorized' });
      }
      // The token comes first: a blank id with no token is a 401.
      assert.equal((await get(main, '%20')).status, 401);
      const forbidden = await get(gated, 'u', { tok: endUser });
      assert.equal(forbidden.status, 403);
      assert.deepEqual(JSON.parse(forbidden.body), { error: 'Forbidden' });
    });

    it('OPTIONS: 204 with the CORS headers (GET,OPTIONS)', async () => {
      const r = check(ROSTER, 'OPTIONS', await viaFetch(`${main.http}/users/u/devices`, { method: 'OPTIONS' }));
      assert.equal(r.status, 204);
      assert.equal(r.headers['access-control-allow-methods'], 'GET,OPTIONS');
    });
  });

  describe('the WebSocket upgrade', () => {
    // Opens a socket with the ws client and checks its 101.
    async function open(server, { via = 'header', tok, perMessageDeflate = true, device } = {}) {
      const query = [...(via === 'query' ? [`token=${encodeURIComponent(tok)}`] : []), ...(device === undefined ? [] : [`device=${device}`])];
      const url = `${server.ws}/${query.length ? `?${query.join('&')}` : ''}`;
      const ws = new WebSocket(url, { perMessageDeflate, ...(via === 'header' ? { headers: { Authorization: `Bearer ${tok}` } } : {}) });
      const opened = once(ws, 'open');
      const [res] = await once(ws, 'upgrade');
      await opened;
      const c = new Client(ws);
      check('/', 'GET', { status: res.statusCode, headers: res.headers, body: '' });
      return { c, res };
    }

    it('101, with and without permessage-deflate, the token in the header or the query', async () => {
      const a = await open(main, { tok: await token('openapi-ws-a') });
      assert.match(a.res.headers['sec-websocket-extensions'], /^permessage-deflate/);
      const b = await open(main, { via: 'query', tok: await token('openapi-ws-b'), perMessageDeflate: false });
      assert.equal(b.res.headers['sec-websocket-extensions'], undefined);
      for (const { c } of [a, b]) { await c.barrier(); await c.close(); }
      // Raw, with the key of RFC 6455's own example: its accept value.
      const r = await raw(main.port, full(requestFor('/', 'GET', await token('openapi-ws-c'))), { timeoutMs: 300 });
      check('/', 'GET', { ...r, body: '' });
      assert.equal(r.status, 101);
      assert.equal(r.headers['sec-websocket-accept'], createHash('sha1').update(`${WS_KEY}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64'));
      assert.equal(r.headers['sec-websocket-accept'], 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    });

    it('400 for each handshake shape error, 426 for another version, 401 without a valid token', async () => {
      const t = await token('openapi-hs');
      const base = (extra) => `GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nAuthorization: Bearer ${t}\r\n${extra}\r\n`;
      const cases = [
        [`GET / HTTP/1.0\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${WS_KEY}\r\nAuthorization: Bearer ${t}\r\n\r\n`, 400, 'WebSocket handshake needs HTTP/1.1'],
        [base(`Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${WS_KEY}\r\n`), 400, 'WebSocket handshake needs Connection: Upgrade'],
        [base('Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n'), 400, 'WebSocket handshake needs a valid Sec-WebSocket-Key'],
        [base('Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short==\r\n'), 400, 'WebSocket handshake needs a valid Sec-WebSocket-Key'],
        [base(`Connection: Upgrade\r\nSec-WebSocket-Version: 8\r\nSec-WebSocket-Key: ${WS_KEY}\r\n`), 426, 'WebSocket version 13 is required'],
        [base(`Host: y\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${WS_KEY}\r\n`), 400, 'Bad Request'],
        [`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${WS_KEY}\r\n\r\n`, 401, 'Unauthorized'],
        [`GET /?token=nope HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${WS_KEY}\r\n\r\n`, 401, 'Unauthorized'],
      ];
      for (const [bytes, status, body] of cases) {
        const r = check('/', 'GET', await raw(main.port, bytes));
        assert.equal(r.status, status, body);
        assert.equal(r.body, body);
      }
      // A publisher token opens no socket (docs/protocol.md section 10).
      const p = check('/', 'GET', await raw(gated.port, full(requestFor('/', 'GET', publisher))));
      assert.equal(p.status, 401);
    });

    it('101 with a device from the query parameter or the token claim (section 11)', async () => {
      const a = await open(main, { tok: await token('openapi-dev-a'), device: encodeURIComponent('phone~1') });
      const b = await open(main, { via: 'query', tok: await token('openapi-dev-b'), device: 'x'.repeat(64) });
      // The claim wins over the query parameter.
      const c = await open(main, { tok: await token('openapi-dev-c', { claims: { device: 'from-claim' } }), device: 'ignored' });
      const seenDevices = [];
      for (const [user, { c: client }] of [['openapi-dev-a', a], ['openapi-dev-b', b], ['openapi-dev-c', c]]) {
        await client.barrier();
        const r = check(ROSTER, 'GET', await viaFetch(`${main.http}/users/${user}/devices`, { headers: { authorization: `Bearer ${endUser}` } }));
        seenDevices.push(...JSON.parse(r.body).devices.map((d) => d.device));
        await client.close();
      }
      assert.deepEqual(seenDevices, ['phone~1', 'x'.repeat(64), 'from-claim']);
    });

    it('400 Bad Request for a bad device parameter, 401 for a bad device claim (section 11)', async () => {
      const t = await token('openapi-bad-device');
      for (const device of ['', '%20', 'a+b', 'x'.repeat(65), 'caf%C3%A9', '%7F', 'a%00', '%20&device=fine']) {
        const r = check('/', 'GET', await raw(main.port, full(requestFor('/', 'GET', t, { target: `/?device=${device}` }))));
        assert.equal(r.status, 400, `device=${device}`);
        assert.equal(r.body, 'Bad Request');
      }
      // A bare `device` (no `=`) is present and empty.
      assert.equal(check('/', 'GET', await raw(main.port, full(requestFor('/', 'GET', t, { target: '/?device' })))).status, 400);
      for (const claim of ['', 7, null, { a: 1 }, 'has space', 'x'.repeat(65)]) {
        const bad = await token('openapi-bad-device', { claims: { device: claim } });
        const r = check('/', 'GET', await raw(main.port, full(requestFor('/', 'GET', bad, { target: '/?device=fine' }))));
        assert.equal(r.status, 401, `claim ${JSON.stringify(claim)}`);
        assert.equal(r.body, 'Unauthorized');
      }
    });

    it('429 past MAX_SOCKETS_PER_USER; 404 for GET / without Upgrade', async () => {
      const t = await token('openapi-greedy');
      const first = await connect(main, t);
      const r = check('/', 'GET', await raw(main.port, full(requestFor('/', 'GET', t))));
      assert.equal(r.status, 429);
      await first.close();
      const nf = check('/', 'GET', await viaFetch(`${main.http}/`));
      assert.equal(nf.status, 404);
    });
  });

  describe('operations and console', () => {
    it('GET and HEAD /healthz, /readyz and /metrics answer 200', async () => {
      for (const path of ['/healthz', '/readyz', '/metrics']) {
        for (const server of [main, noRedis]) {
          if (path === '/readyz' && server === noRedis) continue;
          const g = check(path, 'GET', await viaFetch(`${server.http}${path}`));
          assert.equal(g.status, 200);
          const h = check(path, 'HEAD', await raw(server.port, `HEAD ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, { isHead: true }));
          assert.equal(h.status, 200);
          assert.equal(h.headers['content-type'], g.headers['content-type']);
        }
      }
      assert.match((await viaFetch(`${noRedis.http}/metrics`)).body, /^hopeflow_cluster_connected 0$/m);
    });

    it('/readyz answers 503 redis unavailable in a cluster without Redis', async () => {
      const g = check('/readyz', 'GET', await viaFetch(`${noRedis.http}/readyz`));
      assert.equal(g.status, 503);
      assert.equal(g.body, 'redis unavailable');
      const h = check('/readyz', 'HEAD', await raw(noRedis.port, 'HEAD /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { isHead: true }));
      assert.equal(h.status, 503);
      assert.equal(h.body, '');
    });

    it('/console and its files: 200 with CONSOLE=1, 404 without', async () => {
      for (const path of ['/console', '/console/', '/console/app.js', '/console/sdk.js']) {
        assert.equal(check(path, 'GET', await viaFetch(`${gated.http}${path}`)).status, 200, path);
        assert.equal(check(path, 'GET', await viaFetch(`${main.http}${path}`)).status, 404, path);
      }
    });

    it('GET / redirects to /console with CONSOLE=1 (302, empty body); 404 without', async () => {
      const r = check('/', 'GET', await raw(gated.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      assert.equal(r.status, 302);
      assert.equal(r.statusLine, 'HTTP/1.1 302 Found');
      assert.equal(r.headers.location, '/console');
      assert.equal(r.headers['content-length'], '0');
      assert.equal(check('/', 'GET', await viaFetch(`${main.http}/`)).status, 404);
    });

    it('/sdk/realtime.js: 200 with SERVE_SDK=1 (GET and HEAD), 404 without', async () => {
      const g = check('/sdk/realtime.js', 'GET', await viaFetch(`${gated.http}/sdk/realtime.js`));
      assert.equal(g.status, 200);
      const h = check('/sdk/realtime.js', 'HEAD', await raw(gated.port, 'HEAD /sdk/realtime.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { isHead: true }));
      assert.equal(h.status, 200);
      assert.equal(h.body, '');
      assert.equal(h.headers['content-type'], g.headers['content-type']);
      assert.equal(Number(h.headers['content-length']), Buffer.byteLength(g.body));
      assert.equal(check('/sdk/realtime.js', 'GET', await viaFetch(`${main.http}/sdk/realtime.js`)).status, 404);
      const off = check('/sdk/realtime.js', 'HEAD', await raw(main.port, 'HEAD /sdk/realtime.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { isHead: true }));
      assert.equal(off.status, 404);
      assert.equal(off.body, '');
    });

    it('requests that are no route get the NotFound response', async () => {
      const notFound = doc.components.responses.NotFound;
      for (const [method, path] of [['GET', '/publish'], ['HEAD', '/publish'], ['PUT', '/publish'], ['DELETE', '/publish'], ['GET', '/publish/'],
        ['OPTIONS', '/x'], ['PUT', '/healthz'], ['POST', '/metrics'], ['HEAD', '/console'], ['GET', '/nowhere'], ['HEAD', '/nowhere'],
        ['HEAD', '/'], ['POST', '/'], ['OPTIONS', '/sdk/realtime.js'], ['POST', '/sdk/realtime.js'], ['GET', '/sdk/'],
        ['HEAD', '/users/u/devices'], ['POST', '/users/u/devices'], ['PUT', '/users/u/devices'], ['DELETE', '/users/u/devices'],
        ['PATCH', '/users/u/devices'], ['GET', '/users//devices'], ['GET', '/users/a/b/devices'], ['GET', '/users/u/devices/']]) {
        const r = await raw(main.port, `${method} ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, { isHead: method === 'HEAD' });
        assert.equal(r.status, 404, `${method} ${path}`);
        assert.equal(r.statusLine, 'HTTP/1.1 404 Not Found', `${method} ${path}`);
        checkResponse(`${method} ${path}`, notFound, method, r);
        // HEAD gets the GET answer's headers, no body (content-length is the body's length).
        assert.equal(r.body, method === 'HEAD' ? '' : 'Not Found', `${method} ${path}`);
        assert.equal(r.headers['content-length'], '9', `${method} ${path}`);
      }
    });
  });

  describe('limits every route is subject to', () => {
    it('400 for malformed HTTP (two Host headers) on every operation', async () => {
      const t = await token('openapi-limits');
      for (const [path, method] of OPERATIONS) {
        const r = check(path, method, await raw(main.port, full(requestFor(path, method, t, { hosts: ['x', 'y'] }))));
        assert.equal(r.status, 400, `${method} ${path}`);
        assert.equal(r.body, 'Bad Request');
      }
    });

    it('414 for a long target and 431 for large headers on every operation', async () => {
      const t = await token('openapi-limits');
      for (const [path, method] of OPERATIONS) {
        const long = `${concrete(path)}?${path === '/' ? 'token' : 'pad'}=${'h'.repeat(9000)}`;
        const u = check(path, method, await raw(main.port, full(requestFor(path, method, t, { target: long }))));
        assert.equal(u.status, 414, `${method} ${path}`);
        assert.equal(u.statusLine, 'HTTP/1.1 414 URI Too Long', `${method} ${path}`);
        const h = check(path, method, await raw(main.port, full(requestFor(path, method, t, { extra: [`X-Big: ${'a'.repeat(20000)}`] }))));
        assert.equal(h.status, 431, `${method} ${path}`);
      }
    });

    it('503 on every operation once MAX_CONNECTIONS are open', async () => {
      const held = [];
      for (let i = 0; i < 2; i++) {
        const s = net.connect(full503.port, '127.0.0.1');
        await once(s, 'connect');
        held.push(s);
      }
      await sleep(100);
      try {
        const t = await token('openapi-full');
        for (const [path, method] of OPERATIONS) {
          const r = check(path, method, await raw(full503.port, full(requestFor(path, method, t)), { isHead: method === 'HEAD' }));
          assert.equal(r.status, 503, `${method} ${path}`);
        }
      } finally {
        held.forEach((s) => s.destroy());
      }
    });

    it('408 on every operation when the request does not arrive in time; 503 draining on /readyz during DRAIN_NOTICE_MS', async () => {
      const slow = await startServer({ single: true, env: { REQUEST_TIMEOUT_MS: '600', DRAIN_NOTICE_MS: '2000', DRAIN_SPREAD_MS: '100' } });
      try {
        const t = await token('openapi-slow');
        const answers = await Promise.all(OPERATIONS.map(([path, method]) => {
          const r = requestFor(path, method, t);
          // Headers cut short, or (POST) a body shorter than its Content-Length.
          const bytes = method === 'POST' ? `${r.head.replace(/Content-Length: \d+/, 'Content-Length: 100')}\r\n\r\n{"userId":` : `${r.head}\r\nX-Slow: a`;
          return raw(slow.port, bytes, { isHead: method === 'HEAD' });
        }));
        OPERATIONS.forEach(([path, method], i) => {
          const r = check(path, method, answers[i]);
          assert.equal(r.status, 408, `${method} ${path}`);
        });
        const exit = slow.stop('SIGTERM');
        await sleep(200);
        const g = check('/readyz', 'GET', await raw(slow.port, 'GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
        assert.equal(g.status, 503);
        assert.equal(g.body, 'draining');
        const h = check('/readyz', 'HEAD', await raw(slow.port, 'HEAD /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { isHead: true }));
        assert.equal(h.status, 503);
        assert.equal(await exit, 0);
      } finally {
        await slow.stop('SIGKILL');
      }
    });
  });

  it('every documented path, method, status and media type, every error text and every response header, was produced', () => {
    const missing = [];
    for (const [key, texts] of documented()) {
      if (!seen.has(key)) { missing.push(key); continue; }
      for (const t of texts) if (!seenValues.get(key)?.has(t)) missing.push(`${key}: ${JSON.stringify(t)}`);
    }
    for (const h of documentedHeaders()) if (!seenHeaders.has(h)) missing.push(h);
    for (const name of Object.keys(doc.webhooks ?? {})) if (!seenWebhooks.has(name)) missing.push(`webhook ${name}`);
    assert.deepEqual(missing, [], 'documented in docs/openapi.yaml but never produced by the server');
    assert.ok(seen.size >= 80, `exercised ${seen.size} answers`);
  });
});
