// docs/protocol.md section 5: publish checks, the envelope, and ack collection.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, publish, sleep, startServer, token } from './helpers.mjs';

let server;
before(async () => { server = await startServer(); });
after(async () => { await server.stop(); });

let n = 0;
async function sockets(count, filters = [{ type: 't' }]) {
  const user = `pub-${++n}`;
  const list = [];
  for (let i = 0; i < count; i++) {
    const c = await connect(server, user);
    await c.subscribe(filters);
    list.push(c);
  }
  return { user, list };
}
const closeAll = (list) => Promise.all(list.map((c) => c.close()));

describe('5. publish checks, in order', () => {
  it('401 before 415 before 400 invalid JSON before 400 userId', async () => {
    const cases = [
      [{ tok: 'bad', contentType: 'text/plain', body: '{' }, 401, { error: 'Unauthorized' }],
      [{ contentType: 'text/plain', body: '{' }, 415, { error: 'Unsupported Media Type' }],
      [{ contentType: null, body: '{"userId":"u"}' }, 415, { error: 'Unsupported Media Type' }],
      [{ body: '{' }, 400, { error: 'Invalid JSON body' }],
      [{ body: '' }, 400, { error: 'Invalid JSON body' }],
      [{ body: '{}' }, 400, { error: 'userId is required' }],
    ];
    for (const [opts, status, json] of cases) {
      const r = await publish(server, opts.body, { tok: opts.tok, contentType: opts.contentType });
      assert.equal(r.status, status, JSON.stringify(opts));
      assert.deepEqual(r.json, json);
    }
  });

  it('Content-Type only has to contain application/json, in any case', async () => {
    for (const ct of ['APPLICATION/JSON', 'application/json; charset=utf-8', 'text/plain, application/json']) {
      assert.equal((await publish(server, { userId: 'x' }, { contentType: ct })).status, 200, ct);
    }
  });

  it('a null body, arrays, numbers, strings and blank userIds are "userId is required" (null: improve over 500)', async () => {
    for (const body of ['null', '[]', '[{"userId":"u"}]', '5', '"u"', '{"userId":"  "}', '{"userId":7}']) {
      const r = await publish(server, body);
      assert.equal(r.status, 400, body);
      assert.deepEqual(r.json, { error: 'userId is required' });
    }
  });
});

describe('5. the envelope', () => {
  it('has the exact key order, a UUID v4, an ISO timestamp with ms, and the trimmed target', async () => {
    const { user, list: [c] } = await sockets(1, [{ type: 'chat_message' }]);
    const before = Date.now();
    await publish(server, { userId: `  ${user} `, type: ' chat_message ', payload: { text: 'hi', n: 1.0, big: 1e21 }, ackTimeoutMs: 0 });
    const text = await c.next();
    const m = /^\{"envelopeId":"([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})","type":"chat_message","userId":"([^"]+)","timestamp":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)","payload":\{"text":"hi","n":1,"big":1e\+21\}\}$/.exec(text);
    assert.ok(m, text);
    assert.equal(m[2], user);
    const ts = Date.parse(m[3]);
    assert.ok(ts >= before - 1000 && ts <= Date.now() + 1000);
    await closeAll([c]);
  });

  it('defaults type to "message" and tells an absent payload from null', async () => {
    const { user, list: [c] } = await sockets(1, [{ type: 'message' }]);
    await publish(server, { userId: user, ackTimeoutMs: 0 });
    const absent = await c.nextJson();
    assert.equal(absent.type, 'message');
    assert.ok(!('payload' in absent));
    await publish(server, { userId: user, type: '  ', payload: null, ackTimeoutMs: 0 });
    const nul = await c.nextJson();
    assert.ok('payload' in nul);
    assert.equal(nul.payload, null);
    await publish(server, { userId: user, type: 5, payload: [1, 'two', { three: 3 }], ackTimeoutMs: 0 });
    assert.deepEqual((await c.nextJson()).payload, [1, 'two', { three: 3 }]);
    await closeAll([c]);
  });

  it('gives every publish a fresh envelopeId; callers cannot supply one', async () => {
    const { user, list: [c] } = await sockets(1);
    await publish(server, { userId: user, type: 't', envelopeId: 'mine', ackTimeoutMs: 0 });
    await publish(server, { userId: user, type: 't', envelopeId: 'mine', ackTimeoutMs: 0 });
    const a = await c.nextJson(), b = await c.nextJson();
    assert.notEqual(a.envelopeId, 'mine');
    assert.notEqual(a.envelopeId, b.envelopeId);
    await closeAll([c]);
  });
});

describe('5. acks', () => {
  it('no target: clientCount 0 at once', async () => {
    const r = await publish(server, { userId: 'no-such-user', type: 't' });
    assert.deepEqual(r.json, { clientCount: 0, results: [] });
    assert.ok(r.ms < 1000);
  });

  it('collects results in arrival order, null for a missing result, and returns early', async () => {
    const { user, list: [a, b, c] } = await sockets(3);
    const pending = publish(server, { userId: user, type: 't' });
    const ea = await a.nextJson(), eb = await b.nextJson(), ec = await c.nextJson();
    assert.equal(ea.envelopeId, eb.envelopeId);
    b.ack(eb.envelopeId, { read: true });
    await sleep(20);
    c.ack(ec.envelopeId);  // no result member
    await sleep(20);
    a.ack(ea.envelopeId, 'third');
    const r = await pending;
    assert.deepEqual(r.json, { clientCount: 3, results: [{ read: true }, null, 'third'] });
    assert.ok(r.ms < 1000, `returned after ${r.ms} ms`);
    await closeAll([a, b, c]);
  });

  it('ignores second acks, acks from non-targets and unknown envelope ids', async () => {
    const { user, list: [a, b] } = await sockets(2);
    const bystander = await connect(server, user);  // same user, no matching filter
    const other = await connect(server, 'someone-else');
    const pending = publish(server, { userId: user, type: 't' });
    const e = await a.nextJson();
    await b.next();
    a.ack(e.envelopeId, 1);
    a.ack(e.envelopeId, 'second');
    bystander.ack(e.envelopeId, 'bystander');
    other.ack(e.envelopeId, 'other user');
    b.ack('00000000-0000-4000-8000-000000000000', 'unknown');
    await sleep(50);
    b.ack(e.envelopeId, 2);
    const r = await pending;
    assert.deepEqual(r.json, { clientCount: 2, results: [1, 2] });
    await closeAll([a, b, bystander, other]);
  });

  it('a target that closes mid-wait stops being waited for', async () => {
    const { user, list: [a, b] } = await sockets(2);
    const pending = publish(server, { userId: user, type: 't' });
    const e = await a.nextJson();
    await b.next();
    a.ack(e.envelopeId, 'a');
    await sleep(30);
    b.ws.terminate();  // abrupt: TCP close, no close frame
    const r = await pending;
    assert.deepEqual(r.json, { clientCount: 2, results: ['a'] });
    assert.ok(r.ms < 2000, `returned after ${r.ms} ms`);
    await a.close();
  });

  it('answers after 5 s with whatever arrived', async () => {
    const { user, list: [a, b] } = await sockets(2);
    const pending = publish(server, { userId: user, type: 't' });
    const e = await a.nextJson();
    await b.next();
    a.ack(e.envelopeId, { ok: 1 });
    const r = await pending;  // b never acks
    assert.deepEqual(r.json, { clientCount: 2, results: [{ ok: 1 }] });
    assert.ok(r.ms >= 4900 && r.ms < 6500, `answered after ${r.ms} ms`);
    b.ack(e.envelopeId, 'late');  // after the answer: ignored, harmless
    await b.barrier();
    await closeAll([a, b]);
  });

  it('concurrent publishes to one user wait independently', async () => {
    const { user, list: [a] } = await sockets(1);
    const p1 = publish(server, { userId: user, type: 't', payload: 1 });
    const e1 = await a.nextJson();
    const p2 = publish(server, { userId: user, type: 't', payload: 2 });
    const e2 = await a.nextJson();
    a.ack(e2.envelopeId, 'two');
    const r2 = await p2;
    assert.deepEqual(r2.json, { clientCount: 1, results: ['two'] });
    a.ack(e1.envelopeId, 'one');
    assert.deepEqual((await p1).json, { clientCount: 1, results: ['one'] });
    await a.close();
  });

  it('ackTimeoutMs (improve): 0 is fire-and-forget, small values cap the wait, bad values are 400', async () => {
    const { user, list: [a] } = await sockets(1);
    const ff = await publish(server, { userId: user, type: 't', ackTimeoutMs: 0 });
    assert.deepEqual(ff.json, { clientCount: 1, results: [] });
    await a.next();
    const short = await publish(server, { userId: user, type: 't', ackTimeoutMs: 200 });
    assert.deepEqual(short.json, { clientCount: 1, results: [] });
    // (in a cluster the remote node answers 10 ms early so that its answer arrives in time)
    assert.ok(short.ms >= 180 && short.ms < 1500, `${short.ms}`);
    const bad = await publish(server, { userId: user, type: 't', ackTimeoutMs: -5 });
    assert.equal(bad.status, 400);
    await a.close();
  });

  it('results are re-serialised as JSON.stringify would (numbers, key order)', async () => {
    const { user, list: [a] } = await sockets(1);
    const pending = publish(server, { userId: user, type: 't' });
    const e = await a.nextJson();
    a.send(`{"type":"ack","envelopeId":"${e.envelopeId}","result":{"b":1.50,"2":true,"1":[1E2, "\\u00e9"]}}`);
    const r = await pending;
    assert.equal(r.text, '{"clientCount":1,"results":[{"1":[100,"é"],"2":true,"b":1.5}]}');
    await a.close();
  });
});
