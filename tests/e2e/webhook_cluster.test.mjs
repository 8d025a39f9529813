// docs/protocol.md section 14 across nodes: the origin sends `unacked`, the
// socket's node sends `late_ack` (once), and a node killed with -9 while its
// events wait for a receiver that is down loses none: another node sends
// them. On one redis-server by default, on a real Redis Cluster with
// HOPEFLOW_REDIS_CLUSTER=1 (make e2e-rediscluster).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  WEBHOOK_SECRET, connectDevice, publish, signatureOk, sleep, startReceiver, startServer,
  startSharedRedis, waitReady,
} from './helpers.mjs';

describe('14 across nodes', () => {
  let redis, where, receiver, a, b, c;
  const node = (id) => startServer({
    single: true, env: { ...where, NODE_ID: id, WEBHOOK_URL: receiver.url, WEBHOOK_SECRET, LATE_ACK_MS: '5000' },
  });
  before(async () => {
    receiver = await startReceiver();
    ({ redis, where } = await startSharedRedis());
    [a, b, c] = await Promise.all(['wa', 'wb', 'wc'].map(node));
    await waitReady([a, b, c]);
  });
  after(async () => {
    for (const n of [a, b, c]) await n.stop('SIGKILL');
    await redis.stop();
    await receiver.stop();
  });

  it('unacked comes from the origin, each late_ack once from the socket\'s node', async () => {
    const onA = await connectDevice(a, 'wx-user', 'phone');
    const onB = await connectDevice(b, 'wx-user', 'tablet');
    for (const s of [onA, onB]) await s.subscribe([{ type: 'cmd' }]);
    const r = await publish(c, { userId: 'wx-user', type: 'cmd', webhook: true, ackTimeoutMs: 300 });
    assert.equal(r.json.clientCount, 2);
    const env = JSON.parse(await onA.next());
    await onB.next();
    const e = await receiver.waitFor((x) => x.event === 'unacked' && x.envelope?.envelopeId === env.envelopeId);
    assert.deepEqual(e.devices.map((d) => [d.device, d.state]).sort(), [['phone', 'pending'], ['tablet', 'pending']]);
    onA.ack(env.envelopeId, 'a');
    onB.ack(env.envelopeId, 'b');
    await receiver.waitFor((x) => x.event === 'late_ack' && x.device === 'phone' && x.envelopeId === env.envelopeId);
    await receiver.waitFor((x) => x.event === 'late_ack' && x.device === 'tablet' && x.envelopeId === env.envelopeId);
    await sleep(500);
    const all = receiver.events.filter((x) => x.envelopeId === env.envelopeId || x.envelope?.envelopeId === env.envelopeId);
    assert.equal(all.length, 3, `one unacked and two late acks: ${JSON.stringify(all)}`);
    assert.equal(new Set(all.map((x) => x.id)).size, 3);
    for (const s of [onA, onB]) await s.close();
  });

  it('a node killed with -9 while its events wait: another node sends every one', async () => {
    // The receiver refuses everything for now: the events stay queued on c.
    receiver.answer = () => 503;
    const users = Array.from({ length: 20 }, (_, i) => `wk-${i}`);
    for (const u of users) await publish(c, { userId: u, webhook: true });
    await sleep(1500);  // each refused at least once, and kept in Redis
    assert.ok(receiver.posts.filter((p) => p.json?.envelope?.userId?.startsWith('wk-')).length >= users.length);
    await c.stop('SIGKILL');
    receiver.answer = () => 200;
    // Taken over after 30 s without a hold, then sent.
    for (const u of users) await receiver.waitFor((x) => x.envelope?.userId === u, 60000);
    const ids = new Set(receiver.events.filter((x) => x.envelope?.userId?.startsWith('wk-')).map((x) => x.id));
    assert.equal(ids.size, users.length, 'each event once (same id as refused before)');
    for (const p of receiver.posts.filter((x) => x.json?.envelope?.userId?.startsWith('wk-'))) assert.ok(signatureOk(p));
    const adopted = await Promise.all([a, b].map(async (n) => {
      const text = await (await fetch(`${n.http}/metrics`)).text();
      return Number(/^hopeflow_webhook_adopted_total (\S+)$/m.exec(text)[1]);
    }));
    assert.equal(adopted[0] + adopted[1], users.length, `adopted by a and b: ${adopted}`);
  });
});
