// Cluster faults, each aimed at one way an answer could be lost, doubled or
// sent to the wrong publisher: a node restarted with the same NODE_ID, two
// live nodes sharing one, Redis lost with a PUBLISH in flight, the window
// after a Redis restart, parallel upgrades against the per-user limit, large
// and deeply nested results, and a Redis with a password. Real redis-server
// processes on free ports; every node is the real binary.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { connect, freePort, publish, refusedUpgrade, sleep, startRedis, startServer, token } from './helpers.mjs';

async function waitFor(pred, ms = 8000, what = 'condition') {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`${what} not met in time`);
    await sleep(25);
  }
}
const ready = async (n) => (await fetch(`${n.http}/readyz`).catch(() => ({ status: 0 }))).status === 200;
const connectedCount = (n) => (n.log().match(/cluster: connected/g) || []).length;
const node = (redisPort, id, env = {}) => startServer({ single: true, env: { REDIS_URL: `redis://127.0.0.1:${redisPort}`, NODE_ID: id, ...env } });

// A TCP proxy in front of Redis that can cut the node's command link right
// after a PUBLISH to `user` has been handed to Redis and before Redis's reply
// gets back: the one window where a publish may already have reached every
// node while its origin cannot know it.
function publishCutter(redisPort) {
  let armedFor = null;
  const links = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect(redisPort, '127.0.0.1');
    let cut = false;
    links.add(client);
    client.on('data', (d) => {
      upstream.write(d);
      // The publish goes out as PUBLISH, or as the EVALSHA (or EVAL) of the
      // script that numbers, records and publishes it: each names the user's channel.
      if (armedFor && /PUBLISH\r\n|EVAL(SHA)?\r\n/.test(d) && d.includes(`hf:u:${armedFor}`)) {
        armedFor = null;
        cut = true;  // Redis has it; its reply never comes back through here
        setTimeout(() => { client.destroy(); upstream.destroy(); }, 100);
      }
    });
    upstream.on('data', (d) => { if (!cut) client.write(d); });
    const end = () => { client.destroy(); upstream.destroy(); links.delete(client); };
    client.on('close', end); upstream.on('close', end);
    client.on('error', () => {}); upstream.on('error', () => {});
  });
  return {
    listen: async () => { server.listen(0, '127.0.0.1'); await new Promise((r) => server.once('listening', r)); return server.address().port; },
    arm: (user) => { armedFor = user; },
    close: () => { for (const c of links) c.destroy(); server.close(); },
  };
}

describe('cluster faults', () => {
  let redis, redisPort;
  before(async () => {
    redisPort = await freePort();
    redis = await startRedis(redisPort);
  });
  after(async () => { await redis.stop(); });

  it('an answer from a previous life of a node never reaches a new publish of the same NODE_ID', async () => {
    let a = await node(redisPort, 'same-a');
    const b = await node(redisPort, 'same-b');
    await waitFor(async () => (await ready(a)) && (await ready(b)));
    const u = await connect(b, 'late-acker');
    await u.subscribe([{ type: 't' }]);
    const v = await connect(b, 'never-acks');
    await v.subscribe([{ type: 't' }]);
    // A publish to U through a; U's socket will ack late, after a has died.
    const first = publish(a, { userId: 'late-acker', type: 't', ackTimeoutMs: 4000 }).catch((e) => e);
    const env = JSON.parse(await u.next());
    a.proc.kill('SIGKILL');
    await first;
    a = await node(redisPort, 'same-a');  // the same NODE_ID, request ids from 1 again
    await waitFor(() => ready(a));
    const second = publish(a, { userId: 'never-acks', type: 't', ackTimeoutMs: 2000 });
    await v.next();
    u.ack(env.envelopeId, 'U-result');  // b answers the dead process's request
    const r = await second;
    assert.deepEqual(r.json, { clientCount: 1, results: [] }, 'V never acked: no result, and never U\'s');
    assert.ok(r.ms >= 1900, `answered after ${r.ms.toFixed(0)} ms, at V's deadline`);
    await u.close(); await v.close();
    await a.stop(); await b.stop();
  });

  it('two live nodes with one NODE_ID keep their answers apart and say so', async () => {
    const a1 = await node(redisPort, 'twin');
    const a2 = await node(redisPort, 'twin');
    await waitFor(async () => (await ready(a1)) && (await ready(a2)));
    const x = await connect(a1, 'twin-x');
    const y = await connect(a2, 'twin-y');
    await x.subscribe([{ type: 't' }]); await y.subscribe([{ type: 't' }]);
    x.autoAck(() => 'x'); y.autoAck(() => 'y');
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => publish(i % 2 ? a1 : a2, { userId: i % 4 < 2 ? 'twin-x' : 'twin-y', type: 't' })));
    answers.forEach((r, i) => assert.deepEqual(r.json, { clientCount: 1, results: [i % 4 < 2 ? 'x' : 'y'] }));
    await waitFor(() => /another live node also uses NODE_ID twin/.test(a1.log() + a2.log()), 8000, 'duplicate NODE_ID logged');
    const m = (await (await fetch(`${a2.http}/metrics`)).text()) + (await (await fetch(`${a1.http}/metrics`)).text());
    assert.match(m, /hopeflow_cluster_duplicate_node_id 1\n/);
    await x.close(); await y.close();
    await a1.stop(); await a2.stop();
  });

  it('a node stopped and started again with its NODE_ID is not taken for a duplicate', async () => {
    const first = await node(redisPort, 'graceful');
    await waitFor(() => ready(first));
    assert.equal(await first.stop(), 0);
    const second = await node(redisPort, 'graceful');
    await waitFor(() => ready(second));
    await sleep(300);
    assert.doesNotMatch(second.log(), /another live node/);
    await second.stop();
  });

  it('Redis lost with a PUBLISH in flight: one delivery, one answer by the deadline, marked unknown', async () => {
    const cutter = publishCutter(redisPort);
    const proxyPort = await cutter.listen();
    const n = await node(proxyPort, 'cut');
    await waitFor(() => ready(n));
    const c = await connect(n, 'in-flight');
    await c.subscribe([{ type: 't' }]);
    const got = [];
    c.auto = (m) => { if (m === 'pong') return; const e = JSON.parse(m); got.push(e.envelopeId); c.ack(e.envelopeId, 'once'); };
    cutter.arm('in-flight');
    const r = await publish(n, { userId: 'in-flight', type: 't', ackTimeoutMs: 1500 });
    await sleep(1500);  // anything delivered twice would have arrived by now
    assert.equal(r.status, 200, 'answered, not dropped');
    assert.equal(r.headers.get('hopeflow-degraded'), 'unknown');
    assert.ok(r.ms < 1500 + 250 + 500 + 300, `answered after ${r.ms.toFixed(0)} ms`);
    assert.ok(got.length <= 1, `delivered ${got.length} times`);
    assert.ok(r.json.results.length <= r.json.clientCount);
    await waitFor(() => ready(n), 10000, 'the node back up');
    const after = await publish(n, { userId: 'in-flight', type: 't' });
    assert.deepEqual(after.json, { clientCount: 1, results: ['once'] });
    assert.equal(after.headers.get('hopeflow-degraded'), null);
    const m = await (await fetch(`${n.http}/metrics`)).text();
    assert.match(m, /hopeflow_publishes_degraded_total\{reason="unknown"\} 1\n/);
    await c.close(); await n.stop(); cutter.close();
  });

  it('after Redis returns, a node is ready only once subscribed, and local-only answers say so', async () => {
    const port = await freePort();
    let r2 = await startRedis(port);
    const a = await node(port, 'gap-a');
    const b = await node(port, 'gap-b');
    await waitFor(async () => (await ready(a)) && (await ready(b)));
    const users = Array.from({ length: 200 }, (_, i) => `gap-${i}`);
    const clients = await Promise.all(users.map((u) => connect(b, u)));
    await Promise.all(clients.map((c) => c.subscribe([{ type: 't' }])));
    clients.forEach((c) => c.autoAck(() => 1));
    await r2.stop();
    await waitFor(async () => !(await ready(a)) && !(await ready(b)), 8000, 'both nodes not ready');
    const local = await publish(a, { userId: 'gap-0', type: 't' });
    assert.deepEqual(local.json, { clientCount: 0, results: [] });
    assert.equal(local.headers.get('hopeflow-degraded'), 'local-only', 'the publisher is told');
    r2 = await startRedis(port);
    await waitFor(async () => (await ready(a)) && (await ready(b)), 15000, 'both nodes ready again');
    // Ready means every user is resubscribed: all 200 are reached at once.
    const answers = await Promise.all(users.map((u) => publish(a, { userId: u, type: 't' })));
    answers.forEach((r, i) => assert.deepEqual(r.json, { clientCount: 1, results: [1] }, users[i]));
    await Promise.all(clients.map((c) => c.close()));
    await a.stop(); await b.stop(); await r2.stop();
  });

  it('a node stopped with DRAIN_TIMEOUT_MS shorter than its publishes\' ack wait exits cleanly', async () => {
    const a = await node(redisPort, 'short-drain', { DRAIN_TIMEOUT_MS: '50' });
    const b = await node(redisPort, 'holder');
    await waitFor(async () => (await ready(a)) && (await ready(b)));
    const c = await connect(b, 'slow-acker');
    await c.subscribe([{ type: 't' }]);
    const pending = Array.from({ length: 5 }, () => publish(a, { userId: 'slow-acker', type: 't' }).catch((e) => e));
    for (let i = 0; i < 5; i++) await c.next();
    assert.equal(await a.stop('SIGTERM'), 0, 'no crash: every callback ends before what it points to');
    await Promise.all(pending);
    assert.doesNotMatch(a.log(), /ERROR: (Address|Thread)Sanitizer|runtime error/);
    await c.close();
    await b.stop();
  });

  it('parallel upgrades of one user cannot pass MAX_SOCKETS_PER_USER while their subscription is pending', async () => {
    const n = await node(redisPort, 'limit', { MAX_SOCKETS_PER_USER: '3' });
    await waitFor(() => ready(n));
    const t = await token('crowd');
    const tries = await Promise.all(Array.from({ length: 12 }, () => connect(n, t).then((c) => c, () => null)));
    const opened = tries.filter(Boolean);
    assert.equal(opened.length, 3, `${opened.length} of 12 opened`);
    assert.equal((await refusedUpgrade(n, { headers: { Authorization: `Bearer ${t}` } })).status, 429);
    await Promise.all(opened.map((c) => c.close()));
    await n.stop();
  });

  it('bounds results per answer across nodes, and reads a deeply nested result from another node', async () => {
    const a = await node(redisPort, 'res-a', { MAX_RESULTS_BYTES: '4096' });
    const b = await node(redisPort, 'res-b');
    await waitFor(async () => (await ready(a)) && (await ready(b)));
    const clients = [];
    for (let i = 0; i < 10; i++) clients.push(await connect(i % 2 ? a : b, 'big-results'));
    await Promise.all(clients.map((c) => c.subscribe([{ type: 't' }])));
    clients.forEach((c, i) => c.autoAck(() => `${i}:${'r'.repeat(1000)}`));
    const r = await publish(a, { userId: 'big-results', type: 't' });
    assert.equal(r.json.clientCount, 10);
    assert.ok(r.text.length < 4096 + 200, `answer of ${r.text.length} bytes`);
    assert.equal(r.json.results.length + r.json.resultsDropped, 10, 'every ack is either there or counted');
    assert.ok(r.json.resultsDropped >= 6);
    await Promise.all(clients.map((c) => c.close()));
    // 62 levels inside the ack: at the depth limit once wrapped in a message
    // of JSON, never a problem for a length-prefixed one.
    const deep = await connect(b, 'deep');
    await deep.subscribe([{ type: 't' }]);
    let nested = 0;
    for (let i = 0; i < 62; i++) nested = [nested];
    deep.autoAck(() => nested);
    const d = await publish(a, { userId: 'deep', type: 't' });
    assert.equal(d.json.clientCount, 1);
    assert.deepEqual(d.json.results, [nested]);
    assert.ok(d.ms < 1000, `answered after ${d.ms.toFixed(0)} ms, not at the deadline`);
    await deep.close();
    await a.stop(); await b.stop();
  });

  it('logs in to a Redis with a password (and an ACL user); a wrong one is refused plainly, without flapping', async () => {
    const port = await freePort();
    const r3 = await startRedis(port, ['--requirepass', 's3cret', '--user', 'app', 'on', '>app-pass', '~*', '&*', '+@all']);
    const a = await startServer({ single: true, env: { REDIS_URL: `redis://:s3cret@127.0.0.1:${port}/2`, NODE_ID: 'pw-a' } });
    const b = await startServer({ single: true, env: { REDIS_URL: `redis://app:app-pass@127.0.0.1:${port}`, NODE_ID: 'pw-b' } });
    await waitFor(async () => (await ready(a)) && (await ready(b)));
    const c = await connect(b, 'secret-user');
    await c.subscribe([{ type: 't' }]);
    c.autoAck(() => 'via-auth');
    assert.deepEqual((await publish(a, { userId: 'secret-user', type: 't' })).json, { clientCount: 1, results: ['via-auth'] });
    assert.doesNotMatch(a.log() + b.log(), /s3cret|app-pass/, 'the password is never logged');
    const wrong = await startServer({ single: true, env: { REDIS_URL: `redis://:nope@127.0.0.1:${port}`, NODE_ID: 'pw-wrong' } });
    await sleep(2000);
    assert.equal(await ready(wrong), false);
    assert.match(wrong.log(), /AUTH refused: WRONGPASS/);
    const attempts = (wrong.log().match(/cannot reach Redis/g) || []).length;
    assert.ok(attempts >= 1 && attempts <= 8, `${attempts} attempts in 2 s: backing off, not flapping`);
    await c.close();
    await wrong.stop(); await a.stop(); await b.stop(); await r3.stop();
  });
});
