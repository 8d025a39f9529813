// Chaos for docs/protocol.md sections 11-13: three nodes on one
// redis-server, users whose devices reconnect at random (to another node,
// often before the old connection is known dead: a replacement, or after
// dropping it without a close frame) while publishes with until "first",
// receipts and cancel go through every node. Checked on every answer:
// answered by its bound; acked entries are exactly the results, in order;
// no device listed twice; only the user's own devices; clientCount is the
// number of entries. Afterwards: every replaced socket was closed with 4002,
// the roster shows each live device once on every node, and once every
// client has gone, no socket is left anywhere (no ghost).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, publish, roster, sleep, startRedis, startServer, token, waitReady, WebSocket } from '../e2e/helpers.mjs';

const SECONDS = Number(process.env.CHAOS_SECONDS ?? 20);
const ACK_MS = 1500;
const BOUND_MS = ACK_MS + 250 + 500 + 750;
const USERS = 6;
const DEVICES = ['phone', 'laptop', 'tablet'];
const pick = (a) => a[Math.floor(Math.random() * a.length)];

describe('chaos: devices under publishing', () => {
  it('answers stay consistent while devices move between nodes; no ghost socket afterwards', { timeout: (SECONDS + 90) * 1000 }, async () => {
    const redisPort = await freePort();
    const redis = await startRedis(redisPort);
    const nodes = await Promise.all(['da', 'db', 'dc'].map((id) => startServer({ single: true, env: { REDIS_URL: `redis://127.0.0.1:${redisPort}`, NODE_ID: id, HEARTBEAT_INTERVAL_MS: '1000' } })));
    await waitReady(nodes);
    const users = Array.from({ length: USERS }, (_, i) => `dev-chaos-${i}`);
    const tokens = Object.fromEntries(await Promise.all(users.map(async (u) => [u, await token(u)])));
    const stats = { publishes: 0, late: 0, worstMs: 0, non200: [], inconsistent: [], moves: 0, drops: 0, replacedCloses: 0, otherCloses: 0, cancels: 0, acked: 0, pending: 0, gone: 0 };
    const current = new Map();  // "user/device" -> its newest socket
    const all = [];
    let stopping = false;

    function open(user, device) {
      const n = pick(nodes);
      const ws = new WebSocket(`${n.ws}/?device=${device}`, { headers: { Authorization: `Bearer ${tokens[user]}` } });
      const s = { ws, user, device, replaced: false, closed: false };
      all.push(s);
      current.set(`${user}/${device}`, s);
      ws.on('open', () => ws.send(JSON.stringify({ type: 'subscribe', filters: [{ type: 'm' }] })));
      ws.on('message', (data) => {
        const e = JSON.parse(data.toString());
        if (e.type === 'cancel') { stats.cancels++; return; }
        if (!e.envelopeId) return;
        // Devices answer at different speeds; some never do.
        const delay = { phone: 5, laptop: 60, tablet: null }[device];
        if (delay !== null) setTimeout(() => { if (ws.readyState === 1) ws.send(JSON.stringify({ type: 'ack', envelopeId: e.envelopeId, result: `${user}/${device}` })); }, delay);
      });
      ws.on('close', (code) => {
        s.closed = true;
        if (code === 4002) { s.replaced = true; stats.replacedCloses++; } else stats.otherCloses++;
      });
      ws.on('error', () => {});
      return s;
    }
    for (const u of users) for (const d of DEVICES) open(u, d);
    await sleep(500);

    const mover = async () => {
      while (!stopping) {
        await sleep(50 + Math.random() * 100);
        const u = pick(users), d = pick(DEVICES);
        const old = current.get(`${u}/${d}`);
        if (Math.random() < 0.7) {
          stats.moves++;
          open(u, d);  // before the old one is known dead: it must be replaced
        } else {
          stats.drops++;
          old.ws.terminate();  // the network goes; the device comes back a little later
          await sleep(20);
          open(u, d);
        }
      }
    };
    const publisher = async (w) => {
      for (let i = w; !stopping; i += 3) {
        const u = users[i % USERS];
        stats.publishes++;
        const r = await publish(nodes[i % 3], { userId: u, type: 'm', ackTimeoutMs: ACK_MS, until: 'first', receipts: true, cancel: true });
        stats.worstMs = Math.max(stats.worstMs, r.ms);
        if (r.ms > BOUND_MS) stats.late++;
        if (r.status !== 200) { stats.non200.push(`${r.status} ${r.text}`); continue; }
        const { clientCount, results, devices } = r.json;
        const acked = devices.filter((d) => d.state === 'acked');
        for (const d of devices) stats[d.state]++;
        const names = devices.map((d) => d.device);
        const problems = [];
        if (devices.length !== clientCount) problems.push('devices.length != clientCount');
        if (JSON.stringify(acked.map((d) => d.result)) !== JSON.stringify(results)) problems.push('acked entries are not the results');
        if (new Set(names).size !== names.length) problems.push(`a device twice: ${names}`);
        if (names.some((d) => !DEVICES.includes(d))) problems.push(`a foreign device: ${names}`);
        if (results.some((x) => x !== `${u}/phone` && x !== `${u}/laptop`)) problems.push(`a foreign result: ${results}`);
        if (devices.findIndex((d) => d.state !== 'acked') !== -1 && devices.slice(devices.findIndex((d) => d.state !== 'acked')).some((d) => d.state === 'acked')) problems.push('acked entries not first');
        if (problems.length) stats.inconsistent.push(problems.join('; '));
      }
    };
    const running = [mover(), mover(), publisher(0), publisher(1), publisher(2)];
    await sleep(SECONDS * 1000);
    stopping = true;
    await Promise.all(running);

    // Settled: every node lists each device of each user once.
    await sleep(1500);
    let rosterProblems = 0;
    for (const u of users)
      for (const n of nodes) {
        const r = await roster(n, u);
        const names = r.json.devices.map((d) => d.device).sort();
        if (JSON.stringify(names) !== JSON.stringify([...DEVICES].sort())) { rosterProblems++; console.log(`roster of ${u} via ${n.port}: ${names}`); }
      }
    // Every socket that is not its device's newest was closed (4002, or dropped by us).
    const stale = all.filter((s) => current.get(`${s.user}/${s.device}`) !== s && !s.closed);
    for (const s of all) s.ws.terminate();
    await sleep(3000);  // HEARTBEAT_INTERVAL_MS 1000: dropped peers are found within 2 intervals
    const ghosts = [];
    for (const u of users) for (const n of nodes) { const r = await roster(n, u); if (r.json.devices.length) ghosts.push(`${u}@${n.port}: ${JSON.stringify(r.json.devices)}`); }
    const socketsLeft = [];
    for (const n of nodes) socketsLeft.push(Number(/^hopeflow_websockets (\d+)/m.exec(await (await fetch(`${n.http}/metrics`)).text())[1]));

    const figures = { ...stats, non200: stats.non200.length, inconsistent: stats.inconsistent.length, worstMs: Math.round(stats.worstMs), rosterProblems, stale: stale.length, ghosts: ghosts.length, socketsLeft };
    console.log(`devices chaos figures: ${JSON.stringify(figures)}`);
    if (stats.inconsistent.length) console.log(stats.inconsistent.slice(0, 5));
    assert.ok(stats.publishes > 200, 'enough publishes to mean something');
    assert.ok(stats.moves > 50 && stats.replacedCloses > 50, 'enough replacements to mean something');
    assert.deepEqual(stats.non200, []);
    assert.equal(stats.late, 0, `answers later than ${BOUND_MS} ms`);
    assert.deepEqual(stats.inconsistent, []);
    assert.equal(rosterProblems, 0, 'each device once in the roster, on every node');
    assert.equal(stale.length, 0, 'every replaced socket was closed');
    assert.deepEqual(ghosts, [], 'no socket left in any roster');
    assert.deepEqual(socketsLeft, [0, 0, 0], 'no socket left on any node');
    for (const n of nodes) assert.equal(await n.stop(), 0);
    await redis.stop();
  });
});
