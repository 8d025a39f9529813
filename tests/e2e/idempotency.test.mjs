// docs/protocol.md section 15: Idempotency-Key. With HOPEFLOW_CLUSTER=1 the
// socket is on one node and publishes go through the other (keys in Redis).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { connect, publish, sleep, startServer, token } from './helpers.mjs';

async function post(server, body, key, { tok } = {}) {
  const headers = { authorization: `Bearer ${tok ?? await token('publisher')}`, 'content-type': 'application/json' };
  if (key !== undefined) headers['idempotency-key'] = key;
  const res = await fetch(`${server.http}/publish`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text };
}

describe('15. Idempotency-Key', () => {
  let server;
  before(async () => { server = await startServer(); });
  after(async () => { await server.stop(); });

  it('the same key and body is performed once: the retry gets the first answer, marked replayed', async () => {
    const s = await connect(server, 'idem-user');
    await s.subscribe([{ type: 'm' }]);
    s.autoAck((e) => `got ${e.payload.n}`);
    const first = await post(server, { userId: 'idem-user', type: 'm', payload: { n: 1, x: [1, 2] } }, 'order-1');
    assert.equal(first.status, 200);
    assert.equal(first.text, '{"clientCount":1,"results":["got 1"]}');
    assert.equal(first.headers.get('idempotent-replayed'), null);
    // Member order and white space do not matter.
    const again = await post(server, ' {"payload": {"x":[1, 2], "n":1.0}, "type":"m", "userId":"idem-user"}', 'order-1');
    assert.equal(again.status, 200);
    assert.equal(again.text, first.text);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    // Nothing was delivered again: the next message is a pong.
    s.auto = null;
    await s.barrier();
    await s.close();
  });

  it('another body under a used key is 422; a key still in flight is 409', async () => {
    const s = await connect(server, 'idem-slow');
    await s.subscribe([{ type: 'm' }]);  // never acks
    const slow = post(server, { userId: 'idem-slow', type: 'm', ackTimeoutMs: 1500 }, 'slow-1');
    await s.next();
    const busy = await post(server, { userId: 'idem-slow', type: 'm', ackTimeoutMs: 1500 }, 'slow-1');
    assert.equal(busy.status, 409);
    assert.deepEqual(JSON.parse(busy.text), { error: 'A request with this Idempotency-Key is in progress' });
    const other = await post(server, { userId: 'idem-slow', type: 'other' }, 'slow-1');
    assert.equal(other.status, 422);
    assert.deepEqual(JSON.parse(other.text), { error: 'Idempotency-Key reused with a different body' });
    const done = await slow;
    assert.equal(done.text, '{"clientCount":1,"results":[]}');
    const replay = await post(server, { userId: 'idem-slow', type: 'm', ackTimeoutMs: 1500 }, 'slow-1');
    assert.equal(replay.text, done.text);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    await s.close();
  });

  it('invalid keys get 400; requests that fail before delivery do not claim their key', async () => {
    for (const key of ['', 'x'.repeat(256)]) {
      const r = await post(server, { userId: 'u', type: 'm' }, key);
      assert.equal(r.status, 400, `key of ${key.length} characters`);
      assert.deepEqual(JSON.parse(r.text), { error: 'Invalid Idempotency-Key' });
    }
    // A byte outside printable ASCII (fetch refuses to send one; node:http sends latin-1).
    const tok = await token('publisher');
    const raw = await new Promise((resolve, reject) => {
      const req = http.request(`${server.http}/publish`, { method: 'POST', headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/json', 'idempotency-key': 'caf\u00e9' } }, (res) => {
        let body = '';
        res.on('data', (d) => { body += d; });
        res.on('end', () => resolve({ status: res.statusCode, body }));
      });
      req.on('error', reject);
      req.end(JSON.stringify({ userId: 'u' }));
    });
    assert.equal(raw.status, 400);
    assert.deepEqual(JSON.parse(raw.body), { error: 'Invalid Idempotency-Key' });
    assert.equal((await post(server, { type: 'm' }, 'fresh-1')).status, 400);  // userId is required
    assert.equal((await post(server, { userId: 'u' }, 'fresh-1', { tok: 'bad' })).status, 401);
    const ok = await post(server, { userId: 'u' }, 'fresh-1');
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('idempotent-replayed'), null, 'the key was still free');
    // Without the header nothing changes.
    const plain = await publish(server, { userId: 'u' });
    assert.equal(plain.headers.get('idempotent-replayed'), null);
  });

  it('keys expire after IDEMPOTENCY_TTL_MS', async () => {
    const short = await startServer({ env: { IDEMPOTENCY_TTL_MS: '1000' } });
    try {
      const s = await connect(short, 'ttl-user');
      await s.subscribe([{ type: 'm' }]);
      s.autoAck(() => 'ok');
      assert.equal((await post(short, { userId: 'ttl-user', type: 'm' }, 'k')).headers.get('idempotent-replayed'), null);
      assert.equal((await post(short, { userId: 'ttl-user', type: 'm' }, 'k')).headers.get('idempotent-replayed'), 'true');
      await sleep(1300);
      const later = await post(short, { userId: 'ttl-user', type: 'm' }, 'k');
      assert.equal(later.headers.get('idempotent-replayed'), null);
      assert.equal(later.text, '{"clientCount":1,"results":["ok"]}');
      await s.close();
    } finally {
      await short.stop();
    }
  });

  // With HOPEFLOW_CLUSTER=1 the two requests reach two nodes; on one node, the same one.
  it('a retry through the other node is answered from the first', async () => {
    const s = await connect(server, 'idem-x');
    await s.subscribe([{ type: 'm' }]);
    s.autoAck(() => 'once');
    const viaB = await post(server, { userId: 'idem-x', type: 'm' }, 'cross-1');
    const viaA = await post({ http: server.ws.replace('ws:', 'http:') }, { userId: 'idem-x', type: 'm' }, 'cross-1');
    assert.equal(viaA.text, viaB.text);
    assert.equal(viaA.headers.get('idempotent-replayed'), 'true');
    await s.close();
  });

  it('the same key racing through both nodes: one is delivered, the other is 409 or the replay', async () => {
    const s = await connect(server, 'idem-race');
    await s.subscribe([{ type: 'm' }]);
    const got = [];
    s.auto = (m) => { if (m !== 'pong') { const e = JSON.parse(m); got.push(e.envelopeId); setTimeout(() => s.ack(e.envelopeId, 'late'), 300); } };
    const nodeA = { http: server.ws.replace('ws:', 'http:') };
    for (let i = 0; i < 5; i++) {
      const key = `race-${i}`;
      const [a, b] = await Promise.all([post(server, { userId: 'idem-race', type: 'm' }, key), post(nodeA, { userId: 'idem-race', type: 'm' }, key)]);
      const statuses = [a.status, b.status].sort();
      assert.ok(statuses[0] === 200 && (statuses[1] === 409 || statuses[1] === 200), `statuses ${statuses}`);
      if (statuses[1] === 200) assert.equal(a.text, b.text, 'a replay is the first answer');
    }
    await sleep(100);
    assert.equal(got.length, 5, 'each key delivered once');
    await s.close();
  });
});
