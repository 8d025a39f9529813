// The chaos suite: a 3-node cluster on a password-protected redis-server,
// clients nobody on this project wrote (npm `ws`, through ../e2e/helpers.mjs)
// that ack every envelope with a result naming their user and socket, and a
// steady stream of publishes through every node, while faults are injected:
// kill -9 of a node mid-publish and its restart with the same NODE_ID, kill -9
// of Redis and its restart, SIGTERM of a node holding in-flight publishes,
// clients that stop reading, clients that never send. The invariants are
// checked on every answer and every envelope, and the figures are printed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { freePort, sleep, startRedis, startServer, token, WebSocket } from '../e2e/helpers.mjs';

const SECONDS = Number(process.env.CHAOS_SECONDS ?? 30);  // the publishing phase
const ACK_MS = 800;                                        // each publish's ackTimeoutMs
// The promised bound: deadline, cluster collection minimum (250 ms), the
// session backstop (500 ms), plus scheduling slack on a loaded 2-core box.
const BOUND_MS = ACK_MS + 250 + 500 + 750;
const USERS = 12;
const SOCKETS_PER_USER = 2;
const PASSWORD = 'chaos-pass';

const fds = (pid) => { try { return readdirSync(`/proc/${pid}/fd`).length; } catch { return -1; } };
const rssMiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
const pick = (a) => a[Math.floor(Math.random() * a.length)];

describe('chaos', () => {
  it('every publish answered once by its bound; no envelope to the wrong user or twice; fds back to baseline', { timeout: (SECONDS + 120) * 1000 }, async () => {
    const stats = {
      publishes: 0, answered: 0, lostWithNode: 0, late: 0, worstMs: 0, degraded: {}, errors: [],
      envelopes: 0, duplicates: 0, wrongUser: 0, resultsOverCount: 0, foreignResults: 0, reconnects: 0,
    };
    const redisPort = await freePort();
    let redis = await startRedis(redisPort, ['--requirepass', PASSWORD]);
    // REQUEST_TIMEOUT_MS 3000: answers say "keep-alive: timeout=3", and Node's
    // fetch (which keeps 2 s less than it is told) reuses a connection for 1 s.
    const env = (id) => ({ REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:${redisPort}`, NODE_ID: id, ACK_TIMEOUT_MS: '5000', HEARTBEAT_INTERVAL_MS: '1000', REQUEST_TIMEOUT_MS: '3000', MAX_QUEUED_MESSAGES: '64' });
    const nodes = {};
    const start = async (id) => { nodes[id] = await startServer({ single: true, env: env(id) }); nodes[id].id = id; return nodes[id]; };
    const ready = async (n) => (await fetch(`${n.http}/readyz`).catch(() => ({ status: 0 }))).status === 200;
    const waitReady = async (ids) => { for (let i = 0; i < 400; i++) { if ((await Promise.all(ids.map((id) => ready(nodes[id])))).every(Boolean)) return; await sleep(25); } throw new Error(`not ready: ${ids}`); };
    await Promise.all(['a', 'b', 'c'].map(start));
    await waitReady(['a', 'b', 'c']);
    const baseline = { fds: fds(nodes.a.proc.pid), rss: rssMiB(nodes.a.proc.pid) };
    const live = () => Object.values(nodes).filter((n) => n.proc.exitCode === null && !n.down);

    // --- the well-behaved clients: reconnect to a live node when dropped ---
    const users = Array.from({ length: USERS }, (_, i) => `chaos-${i}`);
    const tokens = Object.fromEntries(await Promise.all(users.map(async (u) => [u, await token(u)])));
    let stopping = false;
    const sockets = [];
    function openSocket(user, k) {
      const n = pick(live());
      const ws = new WebSocket(`${n.ws}/`, { headers: { Authorization: `Bearer ${tokens[user]}` } });
      const seen = new Set();
      const s = { ws, user, k, open: false };
      ws.on('open', () => { s.open = true; ws.send(JSON.stringify({ type: 'subscribe', filters: [{ type: 'm' }] })); });
      ws.on('message', (data) => {
        const text = data.toString();
        if (text === 'pong') return;
        const e = JSON.parse(text);
        stats.envelopes++;
        if (e.userId !== user) stats.wrongUser++;
        if (seen.has(e.envelopeId)) stats.duplicates++;
        seen.add(e.envelopeId);
        ws.send(JSON.stringify({ type: 'ack', envelopeId: e.envelopeId, result: `${user}/${k}` }));
      });
      const again = () => { if (stopping) return; stats.reconnects++; setTimeout(() => { sockets[sockets.indexOf(s)] = openSocket(user, k); }, 100 + Math.random() * 200); };
      ws.on('close', again);
      ws.on('error', () => {});
      ws.on('unexpected-response', () => { ws.removeListener('close', again); again(); });
      return s;
    }
    for (const u of users) for (let k = 0; k < SOCKETS_PER_USER; k++) sockets.push(openSocket(u, k));

    // --- misbehaving clients: one that stops reading, ones that never send ---
    const bad = [];
    const stuckUser = 'chaos-stuck';
    const stuck = net.connect(nodes.a.port, '127.0.0.1', async () => {
      stuck.write(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer ${await token(stuckUser)}\r\n\r\n`);
      const sub = Buffer.from(JSON.stringify({ type: 'subscribe', filters: [{ type: 'm' }] }));
      stuck.write(Buffer.concat([Buffer.from([0x81, 0x80 | sub.length, 0, 0, 0, 0]), sub]));
      stuck.pause();
    });
    stuck.on('error', () => {});
    bad.push(stuck);
    for (let i = 0; i < 5; i++) { const s = net.connect(nodes.a.port, '127.0.0.1'); s.on('error', () => {}); bad.push(s); }

    // --- publishers ---
    async function publishOnce() {
      const n = pick(live());
      if (!n) return;
      const user = Math.random() < 0.05 ? stuckUser : pick(users);
      const body = { userId: user, type: 'm', ackTimeoutMs: ACK_MS, payload: user === stuckUser ? 'x'.repeat(20000) : { at: Date.now() } };
      stats.publishes++;
      const t0 = performance.now();
      let res;
      try {
        res = await fetch(`${n.http}/publish`, { method: 'POST', headers: { authorization: `Bearer ${tokens[users[0]]}`, 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(BOUND_MS + 3000) });
      } catch (e) {
        if (n.proc.exitCode !== null || n.down) { stats.lostWithNode++; return; }  // the node it went through died
        stats.errors.push(`no answer through ${n.id} (${e.cause?.code ?? e.name})`);
        return;
      }
      const text = await res.text().catch(() => null);
      const ms = performance.now() - t0;
      if (text === null) { if (n.proc.exitCode !== null || n.down) stats.lostWithNode++; else stats.errors.push('answer cut off'); return; }
      stats.answered++;
      stats.worstMs = Math.max(stats.worstMs, ms);
      if (ms > BOUND_MS) stats.late++;
      const deg = res.headers.get('hopeflow-degraded');
      if (deg) stats.degraded[deg] = (stats.degraded[deg] ?? 0) + 1;
      if (res.status !== 200) { stats.errors.push(`status ${res.status}: ${text}`); return; }
      const j = JSON.parse(text);
      if (j.results.length > j.clientCount) stats.resultsOverCount++;
      for (const r of j.results) if (typeof r !== 'string' || !r.startsWith(`${user}/`)) stats.foreignResults++;
    }
    const publisher = async () => { while (!stopping) { await publishOnce(); await sleep(5); } };

    // --- the faults, in sequence, while publishing ---
    const t = performance.now();
    const running = Array.from({ length: 6 }, publisher);
    const phase = SECONDS * 1000 / 6;
    const faults = (async () => {
      await sleep(phase);
      nodes.b.down = true; nodes.b.proc.kill('SIGKILL');                       // a node dies mid-publish
      await sleep(500);
      await start('b'); await waitReady(['b']);                                 // and returns as the same NODE_ID
      await sleep(phase);
      await redis.stop();                                                       // Redis dies
      await sleep(1000);
      redis = await startRedis(redisPort, ['--requirepass', PASSWORD]);        // and returns empty
      await waitReady(['a', 'b', 'c']);
      await sleep(phase);
      nodes.c.down = true; const drained = nodes.c.stop('SIGTERM');             // a deploy drains a node
      assert.equal(await drained, 0, 'a drained node exits 0');
      await start('c'); await waitReady(['c']);
      await sleep(phase);
      nodes.a.down = true; nodes.a.proc.kill('SIGKILL');                       // the node holding the bad clients dies
      await sleep(300);
      await start('a'); await waitReady(['a']);
      await sleep(Math.max(0, SECONDS * 1000 - (performance.now() - t)));
    })();
    await faults;
    stopping = true;
    await Promise.all(running);

    // --- afterwards: every process up, every descriptor back ---
    for (const s of sockets) s.ws.terminate();
    for (const s of bad) s.destroy();
    await sleep(2500);  // heartbeats (1 s) and lingering closes end
    const after = Object.values(nodes).filter((n) => !n.down).map((n) => ({ id: n.id ?? '', pid: n.proc.pid, alive: n.proc.exitCode === null, fds: fds(n.proc.pid), rss: rssMiB(n.proc.pid) }));
    const figures = {
      seconds: ((performance.now() - t) / 1000).toFixed(1), ...stats, errors: stats.errors.length,
      worstMs: Math.round(stats.worstMs), boundMs: BOUND_MS, baselineFds: baseline.fds,
      nodes: after.map((a) => `pid ${a.pid}: ${a.alive ? 'up' : 'DOWN'}, ${a.fds} fds, ${a.rss.toFixed(1)} MiB`).join('; '),
    };
    console.log(`chaos figures: ${JSON.stringify(figures)}`);
    if (stats.errors.length) console.log(`chaos errors (first 10): ${stats.errors.slice(0, 10).join(' | ')}`);

    assert.ok(stats.answered > 500, 'enough publishes to mean something');
    assert.deepEqual(stats.errors, [], 'every publish through a live node got exactly one answer');
    assert.equal(stats.late, 0, `answers later than ${BOUND_MS} ms`);
    assert.equal(stats.wrongUser, 0, 'envelopes of another user');
    assert.equal(stats.duplicates, 0, 'an envelope twice on one socket');
    assert.equal(stats.resultsOverCount, 0, 'more results than clientCount');
    assert.equal(stats.foreignResults, 0, 'results from sockets of another user');
    for (const a of after) {
      assert.ok(a.alive, `node pid ${a.pid} is up`);
      assert.ok(a.fds <= baseline.fds, `node pid ${a.pid}: ${a.fds} fds after the clients left, baseline ${baseline.fds}`);
      assert.ok(a.rss < baseline.rss + 64, `node pid ${a.pid}: ${a.rss.toFixed(1)} MiB, baseline ${baseline.rss.toFixed(1)} MiB`);
    }
    for (const n of Object.values(nodes)) if (!n.down) assert.equal(await n.stop(), 0);
    await redis.stop();
  });
});
