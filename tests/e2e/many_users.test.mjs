// docs/protocol.md section 15, "many users": `userIds` instead of `userId`,
// one envelope per user and one answer for all of them. With
// HOPEFLOW_CLUSTER=1 (make e2e-cluster) sockets are on one node and
// publishes go through the other.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, connectDevice, publish, recover, recoveredIn, sleep, startServer, token } from './helpers.mjs';

const USER_IDS_ERROR = 'userIds must be an array of 1-1000 non-blank strings';

async function post(server, body, key) {
  const headers = { authorization: `Bearer ${await token('publisher')}`, 'content-type': 'application/json' };
  if (key !== undefined) headers['idempotency-key'] = key;
  const res = await fetch(`${server.http}/publish`, { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: JSON.parse(text) };
}

// Every frame a client has received so far (without waiting).
const drained = (c) => c.queue.splice(0).map((m) => JSON.parse(m));

describe('15. many users in one publish', () => {
  let server;
  before(async () => { server = await startServer(); });
  after(async () => { await server.stop(); });

  it('one envelope per user, with its own id and offset; users in userIds order, trimmed and without duplicates', async () => {
    const ann = await connect(server, 'mu-ann');
    const bob = await connect(server, 'mu-bob');
    for (const c of [ann, bob]) await c.subscribe([{ type: 'm' }]);
    const annAt = recoveredIn(await recover(ann));
    const bobAt = recoveredIn(await recover(bob));
    // Two envelopes for ann alone first: the users' offsets differ.
    for (const n of [1, 2]) {
      await publish(server, { userId: 'mu-ann', type: 'm', payload: n, ackTimeoutMs: 0 });
      assert.equal((await ann.nextJson()).offset, annAt.offset + n);
    }
    ann.autoAck((e) => `ann got ${e.payload.text}`);
    bob.autoAck((e) => ({ bob: e.offset }));
    const seen = { ann: [], bob: [] };
    const annAuto = ann.auto, bobAuto = bob.auto;
    ann.auto = (m) => { seen.ann.push(JSON.parse(m)); annAuto(m); };
    bob.auto = (m) => { seen.bob.push(JSON.parse(m)); bobAuto(m); };
    const r = await post(server, { userIds: [' mu-bob', 'mu-nobody', 'mu-ann', 'mu-bob ', 'mu-nobody'], type: 'm', payload: { text: 'hi' } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(Object.keys(r.json), ['clientCount', 'results', 'users']);
    assert.deepEqual(Object.keys(r.json.users), ['mu-bob', 'mu-nobody', 'mu-ann']);
    for (const u of Object.values(r.json.users)) assert.deepEqual(Object.keys(u), ['clientCount', 'results', 'envelopeId']);
    const [annEnv] = seen.ann, [bobEnv] = seen.bob;
    assert.equal(seen.ann.length, 1);
    assert.equal(seen.bob.length, 1);
    // Each user's envelope names that user, and has that user's next offset.
    assert.equal(annEnv.userId, 'mu-ann');
    assert.equal(bobEnv.userId, 'mu-bob');
    assert.equal(annEnv.offset, annAt.offset + 3);
    assert.equal(bobEnv.offset, bobAt.offset + 1);
    assert.equal(annEnv.timestamp, bobEnv.timestamp);
    assert.deepEqual([annEnv.type, annEnv.payload], ['m', { text: 'hi' }]);
    assert.deepEqual(r.json.users['mu-ann'], { clientCount: 1, results: ['ann got hi'], envelopeId: annEnv.envelopeId });
    assert.deepEqual(r.json.users['mu-bob'], { clientCount: 1, results: [{ bob: bobEnv.offset }], envelopeId: bobEnv.envelopeId });
    const nobody = r.json.users['mu-nobody'];
    assert.deepEqual({ ...nobody, envelopeId: 'x' }, { clientCount: 0, results: [], envelopeId: 'x' });
    const ids = [annEnv.envelopeId, bobEnv.envelopeId, nobody.envelopeId];
    assert.equal(new Set(ids).size, 3, 'three envelopes, three ids');
    for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // The top level: the sum, and every result in userIds order.
    assert.equal(r.json.clientCount, 2);
    assert.deepEqual(r.json.results, [{ bob: bobEnv.offset }, 'ann got hi']);
    for (const c of [ann, bob]) await c.close();
  });

  it('the request waits on every user; until counts per user', async () => {
    // Each user has a socket that acks (ann at once, bob after 300 ms) and one that never does.
    const fast = await connect(server, 'mu-until-ann');
    const slow = await connect(server, 'mu-until-bob');
    const silent = [await connect(server, 'mu-until-ann'), await connect(server, 'mu-until-bob')];
    for (const c of [fast, slow, ...silent]) await c.subscribe([{ type: 'u' }]);
    fast.autoAck(() => 'ann');
    slow.auto = (m) => { const e = JSON.parse(m); setTimeout(() => slow.ack(e.envelopeId, 'bob'), 300); };
    for (const c of silent) c.auto = () => {};
    const first = await post(server, { userIds: ['mu-until-ann', 'mu-until-bob'], type: 'u', until: 'first', ackTimeoutMs: 4000 });
    assert.equal(first.status, 200);
    assert.deepEqual(first.json.users['mu-until-ann'].results, ['ann']);
    assert.deepEqual(first.json.users['mu-until-bob'].results, ['bob']);
    assert.equal(first.json.users['mu-until-ann'].clientCount, 2);
    assert.equal(first.json.clientCount, 4);
    assert.deepEqual(first.json.results, ['ann', 'bob']);
    // until 1 per user: one ack each is enough. Without it, the silent sockets hold the answer to the deadline.
    const started = performance.now();
    const all = await post(server, { userIds: ['mu-until-ann', 'mu-until-bob'], type: 'u', ackTimeoutMs: 1200 });
    const waited = performance.now() - started;
    assert.ok(waited >= 1100, `waited ${Math.round(waited)} ms for the silent sockets`);
    assert.deepEqual(all.json.results, ['ann', 'bob']);
    for (const c of [fast, slow, ...silent]) await c.close();
  });

  it('until answers as soon as every user reached its count', async () => {
    const a = await connect(server, 'mu-first-a');
    const b = await connect(server, 'mu-first-b');
    const silent = await connect(server, 'mu-first-a');
    for (const c of [a, b, silent]) await c.subscribe([{ type: 'f' }]);
    a.autoAck(() => 'a');
    b.autoAck(() => 'b');
    silent.auto = () => {};
    const started = performance.now();
    const r = await post(server, { userIds: ['mu-first-a', 'mu-first-b'], type: 'f', until: 'first', ackTimeoutMs: 5000 });
    // A silent socket of mu-first-a would hold it 5 s: answered at each user's first ack instead.
    assert.ok(performance.now() - started < 2500, 'answered before the deadline');
    assert.deepEqual(r.json.results, ['a', 'b']);
    assert.deepEqual(r.json.users['mu-first-a'], { clientCount: 2, results: ['a'], envelopeId: r.json.users['mu-first-a'].envelopeId });
    for (const c of [a, b, silent]) await c.close();
  });

  it('receipts: each user\'s entry has its devices; there is no top-level devices', async () => {
    const phone = await connectDevice(server, 'mu-rc-ann', 'phone');
    const laptop = await connectDevice(server, 'mu-rc-bob', 'laptop');
    const plain = await connect(server, 'mu-rc-bob');
    for (const c of [phone, laptop, plain]) await c.subscribe([{ type: 'r' }]);
    phone.autoAck(() => 'phone read');
    laptop.autoAck(() => 'laptop read');
    plain.auto = () => {};
    const r = await post(server, { userIds: ['mu-rc-ann', 'mu-rc-bob', 'mu-rc-nobody'], type: 'r', receipts: true, ackTimeoutMs: 600 });
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(r.json), ['clientCount', 'results', 'users']);
    for (const u of Object.values(r.json.users)) assert.deepEqual(Object.keys(u), ['clientCount', 'results', 'devices', 'envelopeId']);
    const ann = r.json.users['mu-rc-ann'], bob = r.json.users['mu-rc-bob'];
    assert.deepEqual(ann.devices.map((d) => [d.device, d.state, d.result]), [['phone', 'acked', 'phone read']]);
    assert.deepEqual(bob.devices.map((d) => [d.device, d.state, d.result]), [['laptop', 'acked', 'laptop read'], [null, 'pending', undefined]]);
    assert.equal(bob.clientCount, 2);
    assert.deepEqual(r.json.users['mu-rc-nobody'].devices, []);
    assert.deepEqual(r.json.results, ['phone read', 'laptop read']);
    for (const c of [phone, laptop, plain]) await c.close();
  });

  it('cancel: each user\'s named devices that did not ack get a cancel naming that user\'s envelope', async () => {
    const users = ['mu-cx-ann', 'mu-cx-bob'];
    const ackers = [], idle = [];
    for (const u of users) {
      const a = await connectDevice(server, u, 'tablet');
      const i = await connectDevice(server, u, 'phone');
      for (const c of [a, i]) await c.subscribe([{ type: 'c' }]);
      a.autoAck(() => 'done');
      ackers.push(a);
      idle.push(i);
    }
    const r = await post(server, { userIds: users, type: 'c', until: 'first', cancel: true, ackTimeoutMs: 4000 });
    assert.equal(r.status, 200);
    for (const [k, u] of users.entries()) {
      const envelope = await idle[k].nextJson();
      assert.equal(envelope.envelopeId, r.json.users[u].envelopeId);
      assert.equal(envelope.userId, u);
      assert.deepEqual(await idle[k].nextJson(), { type: 'cancel', envelopeId: r.json.users[u].envelopeId });
    }
    for (const c of [...ackers, ...idle]) await c.close();
  });

  it('an Idempotency-Key covers the whole request: a retry gets the whole answer back and nothing is delivered again', async () => {
    const ann = await connect(server, 'mu-idem-ann');
    const bob = await connect(server, 'mu-idem-bob');
    for (const c of [ann, bob]) await c.subscribe([{ type: 'i' }]);
    ann.autoAck(() => 'ann');
    bob.autoAck(() => 'bob');
    const body = { userIds: ['mu-idem-ann', 'mu-idem-bob', 'mu-idem-nobody'], type: 'i', payload: { n: 1 } };
    const first = await post(server, body, 'mu-key-1');
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('idempotent-replayed'), null);
    assert.deepEqual(first.json.results, ['ann', 'bob']);
    const again = await post(server, { type: 'i', payload: { n: 1.0 }, userIds: body.userIds }, 'mu-key-1');
    assert.equal(again.status, 200);
    assert.equal(again.text, first.text);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    // Another list of users under the same key is another body.
    const other = await post(server, { ...body, userIds: ['mu-idem-bob', 'mu-idem-ann', 'mu-idem-nobody'] }, 'mu-key-1');
    assert.equal(other.status, 422);
    for (const c of [ann, bob]) { c.auto = null; await c.barrier(); }
    await sleep(50);
    for (const c of [ann, bob]) { assert.deepEqual(drained(c), [], 'delivered once'); await c.close(); }
  });

  it('bad userIds get 400 with their message, and nothing is delivered', async () => {
    const s = await connect(server, 'mu-bad');
    await s.subscribe([{ type: 'b' }]);
    const many = Array.from({ length: 1001 }, (_, i) => `mu-bad-${i}`);
    const cases = [
      { userIds: 'mu-bad' }, { userIds: null }, { userIds: {} }, { userIds: [] }, { userIds: ['mu-bad', 7] },
      { userIds: ['mu-bad', ' '] }, { userIds: ['mu-bad', ''] }, { userIds: many }, { userIds: [...many.slice(0, 1000), 'mu-bad-0'] },
      { userIds: ['mu-bad'], userId: 'mu-bad' }, { userIds: ['mu-bad'], userId: null }, { userId: 'mu-bad', userIds: null },
      { userIds: 5, ackTimeoutMs: -1 },
    ];
    for (const body of cases) {
      const r = await post(server, { type: 'b', ...body });
      assert.equal(r.status, 400, JSON.stringify(body).slice(0, 100));
      assert.deepEqual(r.json, { error: USER_IDS_ERROR });
    }
    // Neither member: userId is required, as before; later checks still apply to userIds.
    assert.deepEqual((await post(server, { type: 'b' })).json, { error: 'userId is required' });
    assert.deepEqual((await post(server, { userIds: ['mu-bad'], receipts: 'yes' })).json, { error: 'receipts must be a boolean' });
    await s.barrier();
    assert.deepEqual(drained(s), [], 'nothing was delivered');
    await s.close();
  });

  it('1000 users in one request, each with a socket that acks', async () => {
    const n = 1000;
    const ids = Array.from({ length: n }, (_, i) => `mu-k-${String(i).padStart(4, '0')}`);
    const clients = [];
    for (let i = 0; i < n; i += 50) {
      clients.push(...await Promise.all(ids.slice(i, i + 50).map(async (u) => {
        const c = await connect(server, u);
        await c.subscribe([{ type: 'k' }]);
        c.autoAck((e) => e.userId);
        return c;
      })));
    }
    try {
      const r = await post(server, { userIds: ids, type: 'k', payload: { big: 'news' }, ackTimeoutMs: 4000 });
      assert.equal(r.status, 200);
      assert.equal(r.json.clientCount, n);
      assert.deepEqual(r.json.results, ids, 'each user acked its own envelope, results in userIds order');
      assert.deepEqual(Object.keys(r.json.users), ids);
      assert.equal(new Set(Object.values(r.json.users).map((u) => u.envelopeId)).size, n);
      for (const u of ids) assert.deepEqual(r.json.users[u].results, [u]);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });
});
