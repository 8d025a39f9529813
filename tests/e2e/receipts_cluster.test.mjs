// docs/protocol.md sections 11-13 across nodes: sockets of one user on two
// nodes (three for the faults). On one redis-server by default, on a real
// Redis Cluster with HOPEFLOW_REDIS_CLUSTER=1 (make e2e-rediscluster).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, connectDevice, freeze, publish, roster, sleep, startServer, startSharedRedis, waitReady } from './helpers.mjs';

describe('11-13 across nodes', () => {
  let redis, where, a, b, c;
  const node = (id) => startServer({ single: true, env: { ...where, NODE_ID: id } });
  before(async () => {
    ({ redis, where } = await startSharedRedis());
    [a, b, c] = await Promise.all(['xa', 'xb', 'xc'].map(node));
    await waitReady([a, b, c]);
  });
  after(async () => {
    for (const n of [a, b, c]) await n.stop('SIGKILL');
    await redis.stop();
  });

  it('a device that reconnects to another node replaces its socket there within 1 s', async () => {
    const old = await connectDevice(a, 'roamer', 'phone');
    const started = performance.now();
    const fresh = await connectDevice(b, 'roamer', 'phone');
    assert.deepEqual(await old.closed, { code: 4002, reason: 'replaced' });
    assert.ok(performance.now() - started < 1000, 'within 1 s of the new socket\'s 101');
    await sleep(50);
    for (const via of [a, b, c]) {
      const r = await roster(via, 'roamer');
      assert.deepEqual(r.json.devices.map((d) => d.device), ['phone'], 'one phone, whichever node is asked');
      assert.equal(r.headers.get('hopeflow-degraded'), null);
    }
    await fresh.close();
  });

  it('a replacement racing a publish: the publish stops waiting for the replaced socket', async () => {
    const old = await connectDevice(a, 'racer2', 'phone');
    await old.subscribe([{ type: 'm' }]);
    const pending = publish(c, { userId: 'racer2', type: 'm', ackTimeoutMs: 4000, receipts: true });
    await old.next();  // delivered, never acked
    const fresh = await connectDevice(b, 'racer2', 'phone');
    await old.closed;
    const r = await pending;
    assert.ok(r.ms < 2500, `answered after ${Math.round(r.ms)} ms, not at the 4 s deadline`);
    assert.deepEqual(r.json.devices, [{ device: 'phone', state: 'gone' }]);
    await fresh.close();
  });

  it('until counts acks from every node; cancel reaches the other nodes\' named sockets only', async () => {
    const onA = await connectDevice(a, 'multi', 'laptop');
    const onB = await connectDevice(b, 'multi', 'phone');
    const silentA = await connectDevice(a, 'multi', 'watch');
    const namelessB = await connect(b, 'multi');
    for (const s of [onA, onB, silentA, namelessB]) await s.subscribe([{ type: 'm' }]);
    const frames = new Map();
    for (const [name, s] of [['laptop', onA], ['phone', onB], ['watch', silentA], ['nameless', namelessB]]) {
      frames.set(name, []);
      s.auto = (m) => {
        const e = JSON.parse(m);
        frames.get(name).push(e);
        if (e.envelopeId && e.type === 'm' && (name === 'laptop' || name === 'phone')) s.ack(e.envelopeId, name);
      };
    }
    const r = await publish(c, { userId: 'multi', type: 'm', ackTimeoutMs: 5000, until: 2, cancel: true, receipts: true });
    assert.ok(r.ms < 1500, `answered in ${Math.round(r.ms)} ms, once the two acks (on two nodes) arrived`);
    assert.equal(r.json.clientCount, 4);
    assert.deepEqual([...r.json.results].sort(), ['laptop', 'phone']);
    assert.deepEqual(r.json.devices.slice(0, 2).map((d) => d.state), ['acked', 'acked']);
    assert.deepEqual(r.json.devices.slice(0, 2).map((d) => d.result), r.json.results);
    assert.deepEqual(r.json.devices.slice(2).map((d) => [d.device, d.state]).sort(), [['watch', 'pending'], [null, 'pending']].sort());
    await sleep(300);
    const id = frames.get('watch')[0].envelopeId;
    assert.deepEqual(frames.get('watch').slice(1), [{ type: 'cancel', envelopeId: id }]);
    for (const name of ['laptop', 'phone', 'nameless']) assert.equal(frames.get(name).length, 1, `${name}: no cancel`);
    // The same answer shape through any node.
    const again = await publish(a, { userId: 'multi', type: 'm', ackTimeoutMs: 5000, until: 2, receipts: true });
    assert.equal(again.json.clientCount, 4);
    assert.equal(again.json.results.length, 2);
    for (const s of [onA, onB, silentA, namelessB]) await s.close();
  });

  it('receipts without until: every node\'s targets, acked ones in ack order', async () => {
    const quick = await connectDevice(a, 'rx', 'quick');
    const slow = await connectDevice(b, 'rx', 'slow');
    for (const s of [quick, slow]) await s.subscribe([{ type: 'm' }]);
    quick.autoAck(() => 'q');
    slow.auto = (m) => { const e = JSON.parse(m); setTimeout(() => slow.ack(e.envelopeId, 's'), 200); };
    const r = await publish(c, { userId: 'rx', type: 'm', receipts: true });
    assert.deepEqual(r.json.results, ['q', 's']);
    assert.deepEqual(r.json.devices.map((d) => [d.device, d.state, d.result]), [['quick', 'acked', 'q'], ['slow', 'acked', 's']]);
    assert.ok(r.json.devices[1].ackMs >= 190);
    for (const s of [quick, slow]) await s.close();
  });

  it('the roster lists every node\'s sockets; a frozen node is waited for at most about a second', async () => {
    const s1 = await connectDevice(a, 'seen', 'one');
    await sleep(5);
    const s2 = await connectDevice(b, 'seen', 'two');
    await sleep(5);
    const s3 = await connect(c, 'seen');
    const all = await roster(a, 'seen');
    assert.deepEqual(all.json.devices.map((d) => d.device), ['one', 'two', null], 'ordered by since');
    await freeze(c.proc);
    try {
      const started = performance.now();
      const r = await roster(a, 'seen');
      const ms = performance.now() - started;
      assert.ok(ms < 1500, `answered in ${Math.round(ms)} ms`);
      assert.equal(r.headers.get('hopeflow-degraded'), 'partial');
      assert.deepEqual(r.json.devices.map((d) => d.device), ['one', 'two']);
    } finally {
      c.proc.kill('SIGCONT');
    }
    for (const s of [s1, s2, s3]) await s.close();
  });

  it('a device whose node was killed opens again elsewhere, and publishes find the new socket', async () => {
    const old = await connectDevice(c, 'phoenix', 'phone');
    await old.subscribe([{ type: 'm' }]);
    await c.stop('SIGKILL');
    const fresh = await connectDevice(a, 'phoenix', 'phone');
    await fresh.subscribe([{ type: 'm' }]);
    fresh.autoAck(() => 'alive');
    const r = await publish(b, { userId: 'phoenix', type: 'm', receipts: true });
    assert.deepEqual(r.json.devices, [{ device: 'phone', state: 'acked', result: 'alive', ackMs: r.json.devices[0].ackMs }]);
    const list = await roster(b, 'phoenix');
    assert.deepEqual(list.json.devices.map((d) => d.device), ['phone']);
    await fresh.close();
    c = await node('xc');
    await waitReady([c]);
  });
});
