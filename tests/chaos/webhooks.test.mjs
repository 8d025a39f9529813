// Chaos for docs/protocol.md sections 14 and 15: three nodes on one
// redis-server, publishes with "webhook": true and an Idempotency-Key (a
// third of them to many users), each sent once or twice through random
// nodes (a retry that races the first, as a backend does after a dropped
// connection), to users that ack on sockets that reconnect when their node
// dies and to users that are offline; a receiver that answers 500 to some
// POSTs and never answers others; while a node is killed with -9 and
// restarted, Redis is killed with -9 and restarted (with its append-only
// file, as a deployment that wants webhooks to outlive a Redis restart runs
// it: docs/operations.md), and another node is killed. Afterwards:
// - every key was delivered at most once to each of its users (keys whose
//   requests overlapped the Redis outage are left out: while Redis is
//   unreachable each node keeps its own keys, as section 15 says);
// - every envelope that an answer showed unacked reached the receiver at
//   least once (as an `unacked` event naming it), signed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  WEBHOOK_SECRET, WebSocket, freePort, publish, signatureOk, sleep, startReceiver, startRedis,
  startServer, token,
} from '../e2e/helpers.mjs';

const ONLINE = ['wc-on-0', 'wc-on-1', 'wc-on-2', 'wc-on-3'];
const OFFLINE = ['wc-off-0', 'wc-off-1', 'wc-off-2', 'wc-off-3'];
const pick = (a) => a[Math.floor(Math.random() * a.length)];

describe('chaos: webhooks and idempotent retries', () => {
  it('at most one delivery per key, and every unacked envelope reaches the receiver', { timeout: 240_000 }, async () => {
    const receiver = await startReceiver({
      answer: () => { const x = Math.random(); return x < 0.08 ? 500 : x < 0.09 ? 'hang' : 200; },
    });
    const redisPort = await freePort();
    const redisDir = mkdtempSync(join(tmpdir(), 'hf-chaos-redis-'));
    const durable = ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', redisDir];
    let redis = await startRedis(redisPort, durable);
    const env = (id) => ({
      REDIS_URL: `redis://127.0.0.1:${redisPort}`, NODE_ID: id, WEBHOOK_URL: receiver.url, WEBHOOK_SECRET,
      ACK_TIMEOUT_MS: '5000', HEARTBEAT_INTERVAL_MS: '1000', REQUEST_TIMEOUT_MS: '3000',
    });
    const nodes = {};
    const start = async (id) => { nodes[id] = await startServer({ single: true, env: env(id) }); nodes[id].down = false; };
    await Promise.all(['wa', 'wb', 'wc'].map(start));
    const live = () => Object.values(nodes).filter((n) => !n.down);
    const stats = { logical: 0, requests: 0, retries: 0, failedRequests: 0, status: {}, envelopes: 0, excludedKeys: 0, reconnects: 0 };
    const t0 = Date.now();
    let redisDown = null;  // [from, to] in ms since t0

    // Online users: one socket each, acking, reconnecting to a live node.
    const delivered = new Map();  // key -> Map(user -> Set(envelopeId))
    const tokens = Object.fromEntries(await Promise.all(ONLINE.map(async (u) => [u, await token(u)])));
    let stopping = false;
    const sockets = [];
    const open = (user) => {
      const n = pick(live());
      const ws = new WebSocket(n.ws, { headers: { Authorization: `Bearer ${tokens[user]}` } });
      sockets.push(ws);
      ws.on('open', () => ws.send(JSON.stringify({ type: 'subscribe', filters: [{ type: 'm' }] })));
      ws.on('message', (data) => {
        const e = JSON.parse(data.toString());
        if (!e.envelopeId) return;
        stats.envelopes++;
        const k = e.payload?.key;
        if (!delivered.has(k)) delivered.set(k, new Map());
        const per = delivered.get(k);
        if (!per.has(user)) per.set(user, new Set());
        per.get(user).add(e.envelopeId);
        ws.send(JSON.stringify({ type: 'ack', envelopeId: e.envelopeId, result: user }));
      });
      ws.on('close', () => { if (!stopping) { stats.reconnects++; setTimeout(() => open(user), 200); } });
      ws.on('error', () => {});
    };
    for (const u of ONLINE) open(u);
    await sleep(500);

    // Publishers: each logical publish once or twice, through random nodes.
    const logical = [];  // { key, users, at: [ms...], answers: [...] }
    const send = async (l, delay) => {
      await sleep(delay);
      const n = pick(live());
      stats.requests++;
      l.at.push(Date.now() - t0);
      const tok = await token('publisher');
      const r = await fetch(`${n.http}/publish`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/json', 'idempotency-key': l.key },
        body: l.body,
      }).then(async (res) => ({ status: res.status, degraded: res.headers.get('hopeflow-degraded'), json: await res.json().catch(() => undefined) }))
        .catch(() => null);
      if (!r) { stats.failedRequests++; return; }
      stats.status[r.status] = (stats.status[r.status] ?? 0) + 1;
      l.answers.push(r);
    };
    const publisher = async () => {
      while (!stopping) {
        const key = randomUUID();
        const many = Math.random() < 0.33;
        const users = many ? [pick(ONLINE), pick(OFFLINE), pick(ONLINE)].filter((u, i, a) => a.indexOf(u) === i) : [pick([...ONLINE, ...OFFLINE])];
        const body = JSON.stringify({ ...(many ? { userIds: users } : { userId: users[0] }), type: 'm', payload: { key }, webhook: true, ackTimeoutMs: 800 });
        const l = { key, users, body, at: [], answers: [] };
        logical.push(l);
        stats.logical++;
        const runs = [send(l, 0)];
        if (Math.random() < 0.5) { stats.retries++; runs.push(send(l, Math.random() * 1000)); }
        await Promise.all(runs);
      }
    };
    const running = [publisher(), publisher(), publisher()];

    // Faults.
    const kill = async (id) => { nodes[id].down = true; await nodes[id].stop('SIGKILL'); };
    await sleep(5000); await kill('wb');
    await sleep(3000); await start('wb');
    await sleep(4000); redisDown = [Date.now() - t0]; await redis.stop();
    await sleep(1000); redis = await startRedis(redisPort, durable); redisDown.push(Date.now() - t0);
    await sleep(14000); await kill('wc');
    await sleep(3000); await start('wc');
    await sleep(5000);
    stopping = true;
    await Promise.all(running);

    // Every envelope an answer showed unacked, as (key, user).
    const expected = new Map();
    for (const l of logical)
      for (const a of l.answers) {
        if (a.status !== 200 || !a.json) continue;
        const per = a.json.users ?? { [l.users[0]]: a.json };
        for (const [u, ans] of Object.entries(per))
          if (ans.results.length === 0) expected.set(`${l.key}/${u}`, { key: l.key, user: u });
      }
    const seen = () => new Set(receiver.events.filter((e) => e.event === 'unacked').map((e) => `${e.envelope.payload?.key}/${e.envelope.userId}`));
    const until = Date.now() + 100_000;  // adoption after 30 s, retries up to a minute apart
    let missing = [];
    for (;;) {
      const s = seen();
      missing = [...expected.keys()].filter((k) => !s.has(k));
      if (missing.length === 0 || Date.now() > until) break;
      await sleep(500);
    }

    // At most one delivery per key and user (outside the Redis outage).
    const margin = 3000;
    const overlapsOutage = (l) => l.at.some((t) => t >= redisDown[0] - margin && t <= redisDown[1] + margin);
    const twice = [];
    for (const l of logical) {
      if (overlapsOutage(l)) { stats.excludedKeys++; continue; }
      for (const [u, ids] of delivered.get(l.key) ?? []) if (ids.size > 1) twice.push(`${l.key}/${u}: ${ids.size}`);
    }
    const unsigned = receiver.posts.filter((p) => !signatureOk(p)).length;
    stopping = true;
    for (const ws of sockets) ws.terminate();
    const ids = receiver.events.map((e) => e.id);
    console.log(JSON.stringify({
      ...stats, expectedUnacked: expected.size, missing: missing.length, deliveredTwice: twice.length,
      posts: receiver.posts.length, eventsReceived: ids.length, distinctEvents: new Set(ids).size, unsigned,
      redisDown,
    }));
    for (const m of missing) {
      const l = logical.find((x) => m.startsWith(`${x.key}/`));
      console.log(`missing ${m}: requests at ${l.at} ms, answers ${JSON.stringify(l.answers.map((a) => [a.status, a.degraded, a.json]))}`);
    }
    for (const n of Object.values(nodes)) await n.stop('SIGKILL');
    await redis.stop();
    await receiver.stop();
    rmSync(redisDir, { recursive: true, force: true });

    assert.ok(stats.logical > 50, `enough publishes (${stats.logical})`);
    assert.ok(expected.size > 20, `enough unacked envelopes (${expected.size})`);
    assert.deepEqual(missing, [], 'every unacked envelope reached the receiver');
    assert.deepEqual(twice, [], 'no key delivered twice to a user');
    assert.equal(unsigned, 0);
  });

  it('a receiver down for a minute gets every event afterwards, each id at least once', { timeout: 180_000 }, async () => {
    const receiver = await startReceiver();
    const server = await startServer({ single: true, env: { WEBHOOK_URL: receiver.url, WEBHOOK_SECRET } });
    try {
      await receiver.stop();
      const users = Array.from({ length: 20 }, (_, i) => `down-min-${i}`);
      for (const u of users) await publish(server, { userId: u, webhook: true });
      await sleep(60_000);
      await receiver.start();
      // Retries are at most a minute apart: every event within the next one.
      for (const u of users) await receiver.waitFor((x) => x.envelope?.userId === u, 75_000);
      assert.equal(new Set(receiver.events.map((e) => e.id)).size, users.length);
      const text = await (await fetch(`${server.http}/metrics`)).text();
      assert.match(text, /^hopeflow_webhook_dropped_total\{reason="expired"\} 0$/m);
      assert.ok(receiver.posts.every((p) => signatureOk(p)));
    } finally {
      await server.stop();
      await receiver.stop();
    }
  });
});
