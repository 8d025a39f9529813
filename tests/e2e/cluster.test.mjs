// Cluster mode: three nodes over a real redis-server started here on a free
// port. The publish answer must be the same whichever node takes it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, freePort, publish, sleep, startRedis, startServer } from './helpers.mjs';

async function waitFor(pred, ms = 5000) {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(50);
  }
}

describe('cluster over Redis', () => {
  let redis, redisPort, nodes;
  const node = (i, extra = {}) => startServer({ env: { REDIS_URL: `redis://127.0.0.1:${redisPort}`, NODE_ID: `n${i}`, ...extra } });
  before(async () => {
    redisPort = await freePort();
    redis = await startRedis(redisPort);
    nodes = await Promise.all([0, 1, 2].map((i) => node(i)));
    await waitFor(async () => nodes.every((n) => /cluster: connected/.test(n.log())));
  });
  after(async () => {
    for (const n of nodes) await n.stop();
    await redis.stop();
  });

  it('collects acks from sockets of one user on all three nodes, through any node, returning early', async () => {
    const clients = [];
    for (const n of nodes) {
      const c = await connect(n, 'spread');
      await c.subscribe([{ type: 'chat' }]);
      clients.push(c);
    }
    clients.forEach((c, i) => c.autoAck(() => `n${i}`));
    for (const via of nodes) {
      const r = await publish(via, { userId: 'spread', type: 'chat', payload: { text: 'hi' } });
      assert.match(await (await fetch(`${via.http}/metrics`)).text(), /hopeflow_cluster_connected 1\n[\s\S]*hopeflow_cluster_publish_rtt_seconds_count [1-9]/);
      assert.equal(r.json.clientCount, 3);
      assert.deepEqual([...r.json.results].sort(), ['n0', 'n1', 'n2']);
      assert.ok(r.ms < 1000, `answered after ${r.ms} ms`);
    }
    await Promise.all(clients.map((c) => c.close()));
  });

  it('publishes by EVALSHA, and once by EVAL again after Redis lost its scripts (SCRIPT FLUSH)', async () => {
    const { execFileSync } = await import('node:child_process');
    const cli = (...args) => execFileSync('redis-cli', ['-p', String(redisPort), ...args]).toString();
    const c = await connect(nodes[0], 'scripted');
    await c.subscribe([{ type: 't' }]);
    c.autoAck(() => 'ok');
    const stat = (name) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(cli('info', 'commandstats'))?.[1] ?? 0);
    await publish(nodes[1], { userId: 'scripted', type: 't' });
    const [sha0, eval0] = [stat('evalsha'), stat('eval')];
    for (let i = 0; i < 5; i++) assert.deepEqual((await publish(nodes[1], { userId: 'scripted', type: 't' })).json, { clientCount: 1, results: ['ok'] });
    assert.equal(stat('evalsha') - sha0, 5, 'each publish is one EVALSHA');
    assert.equal(stat('eval'), eval0, 'no script text sent');
    cli('script', 'flush');
    assert.deepEqual((await publish(nodes[1], { userId: 'scripted', type: 't' })).json, { clientCount: 1, results: ['ok'] });
    assert.equal(stat('eval') - eval0, 1, 'NOSCRIPT answered by one EVAL');
    assert.deepEqual((await publish(nodes[1], { userId: 'scripted', type: 't' })).json, { clientCount: 1, results: ['ok'] });
    assert.equal(stat('eval') - eval0, 1, 'and EVALSHA again after it');
    await c.close();
  });

  it('delivers the same envelope bytes everywhere, matches filters per node, and counts no target as 0', async () => {
    const a = await connect(nodes[0], 'bytes');
    const b = await connect(nodes[1], 'bytes');
    await a.subscribe([{ type: 't', room: '1' }]);
    await b.subscribe([{ type: 't', room: '2' }]);
    const pending = publish(nodes[2], { userId: 'bytes', type: 't', payload: { room: '1' }, ackTimeoutMs: 0 });
    const text = await a.next();
    assert.equal((await pending).json.clientCount, 1);
    assert.match(text, /^\{"envelopeId":"[0-9a-f-]{36}","type":"t","userId":"bytes","timestamp":"[^"]+","payload":\{"room":"1"\}\}$/);
    const none = await publish(nodes[1], { userId: 'nobody-anywhere', type: 't' });
    assert.deepEqual(none.json, { clientCount: 0, results: [] });
    await a.close();
    await b.close();
  });

  it('answers at the deadline with what arrived when a node dies mid-publish', async () => {
    const extra = await node(9);
    await waitFor(async () => /cluster: connected/.test(extra.log()));
    const a = await connect(nodes[0], 'fragile');
    const b = await connect(extra, 'fragile');
    await a.subscribe([{ type: 't' }]);
    await b.subscribe([{ type: 't' }]);
    a.autoAck(() => 'survivor');
    const pending = publish(nodes[1], { userId: 'fragile', type: 't', ackTimeoutMs: 1500 });
    await b.next();
    extra.proc.kill('SIGKILL');  // dies before acking or answering
    const r = await pending;
    assert.deepEqual(r.json, { clientCount: 1, results: ['survivor'] });
    assert.ok(r.ms >= 1400 && r.ms < 3000, `answered after ${r.ms} ms`);
    await a.close();
  });

  it('a node drained with SIGTERM answers at once instead of leaving the origin waiting', async () => {
    const extra = await node(8);
    await waitFor(async () => /cluster: connected/.test(extra.log()));
    const a = await connect(nodes[0], 'draining-node');
    const b = await connect(extra, 'draining-node');
    await a.subscribe([{ type: 't' }]);
    await b.subscribe([{ type: 't' }]);
    a.autoAck(() => 'stays');
    const pending = publish(nodes[1], { userId: 'draining-node', type: 't' });
    await b.next();
    const exit = extra.stop('SIGTERM');
    const r = await pending;
    assert.deepEqual(r.json, { clientCount: 2, results: ['stays'] });
    assert.ok(r.ms < 2000, `answered after ${r.ms} ms, not at the 5 s deadline`);
    assert.equal(await exit, 0);
    await a.close();
  });

  it('spreads many users over the nodes, each answer right through any node', async () => {
    const users = Array.from({ length: 30 }, (_, i) => `many-${i}`);
    const clients = await Promise.all(users.map((u, i) => connect(nodes[i % 3], u)));
    await Promise.all(clients.map((c) => c.subscribe([{ type: 'm' }])));
    clients.forEach((c, i) => c.autoAck(() => users[i]));
    const answers = await Promise.all(users.map((u, i) => publish(nodes[(i + 1) % 3], { userId: u, type: 'm' })));
    answers.forEach((r, i) => assert.deepEqual(r.json, { clientCount: 1, results: [users[i]] }));
    await Promise.all(clients.map((c) => c.close()));
  });

  it('takes a frozen Redis (SIGSTOP: connections open, no answers) as lost within 4 s, and comes back when it answers', async (ctx) => {
    const ready = async (n) => (await fetch(`${n.http}/readyz`).catch(() => ({ status: 0 }))).status === 200;
    const a = await connect(nodes[0], 'frozen');
    const b = await connect(nodes[1], 'frozen');
    await a.subscribe([{ type: 't' }]);
    await b.subscribe([{ type: 't' }]);
    a.autoAck(() => 'a');
    b.autoAck(() => 'b');
    const lostBefore = nodes.map((n) => (n.log().match(/no answer from Redis for 3 s/g) || []).length);
    redis.proc.kill('SIGSTOP');
    const t0 = performance.now();
    try {
      // A publish taken as the freeze begins is still answered by its deadline.
      const pending = await publish(nodes[2], { userId: 'frozen', type: 't', ackTimeoutMs: 1000 });
      assert.equal(pending.status, 200);
      assert.ok(performance.now() - t0 < 2500, `answered after ${Math.round(performance.now() - t0)} ms`);
      await waitFor(async () => !(await ready(nodes[0])) && nodes.every((n, i) => (n.log().match(/no answer from Redis for 3 s/g) || []).length > lostBefore[i]), 6000);
      const lostMs = performance.now() - t0;
      const local = await publish(nodes[0], { userId: 'frozen', type: 't' });
      assert.deepEqual(local.json, { clientCount: 1, results: ['a'] }, 'the local part still works');
      assert.equal(local.headers.get('hopeflow-degraded'), 'local-only');
      ctx.diagnostic(`measure: frozen Redis taken as lost ${Math.round(lostMs)} ms after SIGSTOP`);
      assert.ok(lostMs < 4500, `lost after ${Math.round(lostMs)} ms`);
    } finally {
      redis.proc.kill('SIGCONT');
    }
    const t1 = performance.now();
    await waitFor(async () => (await Promise.all(nodes.map(ready))).every(Boolean), 15000);
    ctx.diagnostic(`measure: every node ready again ${Math.round(performance.now() - t1)} ms after SIGCONT`);
    const r = await publish(nodes[2], { userId: 'frozen', type: 't' });
    assert.equal(r.json.clientCount, 2);
    assert.deepEqual([...r.json.results].sort(), ['a', 'b']);
    await a.close();
    await b.close();
  });

  it('keeps delivering locally while Redis is down, and recovers with every user resubscribed', async () => {
    const a = await connect(nodes[0], 'outage');
    const b = await connect(nodes[1], 'outage');
    await a.subscribe([{ type: 't' }]);
    await b.subscribe([{ type: 't' }]);
    a.autoAck(() => 'a');
    b.autoAck(() => 'b');
    // Counted from here: an earlier test may have lost Redis already.
    const count = (n, re) => (n.log().match(re) || []).length;
    const lost = nodes.map((n) => count(n, /lost Redis/g));
    const connected = nodes.map((n) => count(n, /cluster: connected/g));
    await redis.stop();
    await waitFor(async () => nodes.every((n, i) => count(n, /lost Redis/g) > lost[i]));
    const local = await publish(nodes[0], { userId: 'outage', type: 't' });
    assert.deepEqual(local.json, { clientCount: 1, results: ['a'] }, 'local part still works');
    redis = await startRedis(redisPort);
    await waitFor(async () => nodes.every((n, i) => count(n, /cluster: connected/g) > connected[i]), 15000);
    const r = await publish(nodes[2], { userId: 'outage', type: 't' });
    assert.equal(r.json.clientCount, 2);
    assert.deepEqual([...r.json.results].sort(), ['a', 'b']);
    await a.close();
    await b.close();
  });
});
