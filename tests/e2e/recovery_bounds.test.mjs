// docs/protocol.md section 7 with Redis: a recover is bounded. A user that
// filled their own history with large envelopes, then recovers from offset
// 0 on several sockets at once, gets at most MAX_QUEUED_BYTES of replay and
// recovered:false, keeps at most that much history in Redis, and does not
// stall another user's publishes; recovers beyond the per-user rate are
// answered recovered:false.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { SANITIZED, connect, envelopesIn, freePort, publish, recover, recoveredIn, startRedis, startServer, waitReady } from './helpers.mjs';

const MiB = 1 << 20;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

describe('7. recovery with Redis is bounded', () => {
  let redis, redisPort, node;
  before(async () => {
    redisPort = await freePort();
    redis = await startRedis(redisPort);
    node = await startServer({ single: true, env: { REDIS_URL: `redis://127.0.0.1:${redisPort}`, NODE_ID: 'rb1' } });
    await waitReady([node]);
  });
  after(async () => {
    await node.stop();
    await redis.stop();
  });

  it('a large history costs at most MAX_QUEUED_BYTES in Redis and per replay, and another user is not stalled', async () => {
    const hoarder = await connect(node, 'hoarder');
    await hoarder.subscribe([{ type: 'big' }]);
    const { epoch } = recoveredIn(await recover(hoarder));
    await hoarder.close();
    const blob = 'x'.repeat(900 * 1024);
    for (let i = 0; i < 40; i++) {
      const r = await publish(node, { userId: 'hoarder', type: 'big', payload: { i, blob }, ackTimeoutMs: 0 });
      assert.equal(r.status, 200);
    }
    const kept = Number(execFileSync('redis-cli', ['-p', String(redisPort), 'MEMORY', 'USAGE', 'hf:{hoarder}:s']).toString().trim() || 0);
    assert.ok(kept <= 6 * MiB, `the user's history in Redis is bounded by bytes (${kept} B kept)`);

    const bystander = await connect(node, 'bystander');
    await bystander.subscribe([{ type: 'ping' }]);
    const timed = async () => {
      const t0 = performance.now();
      const r = await publish(node, { userId: 'bystander', type: 'ping', payload: 1, ackTimeoutMs: 0 });
      assert.equal(r.status, 200);
      return performance.now() - t0;
    };
    const usual = [];
    for (let i = 0; i < 20; i++) usual.push(await timed());

    const sockets = await Promise.all([0, 1, 2, 3].map(() => connect(node, 'hoarder')));
    for (const s of sockets) await s.subscribe([{ type: 'big' }]);
    const during = [];
    let recovering = true;
    const probe = (async () => { while (recovering) during.push(await timed()); })();
    const results = await Promise.all(sockets.map((s) => recover(s, { epoch, offset: 0 }, { gapMs: SANITIZED ? 30000 : 5000 })));
    recovering = false;
    await probe;
    for (const frames of results) {
      assert.equal(recoveredIn(frames).recovered, false, 'the bound cut the replay');
      const bytes = envelopesIn(frames).reduce((n, e) => n + JSON.stringify(e).length, 0);
      assert.ok(bytes <= 4 * MiB + 64 * 1024, `a replay stays within MAX_QUEUED_BYTES (${bytes} B)`);
    }
    // Under a sanitizer (5-15x slower, on a busy CI machine) the bound is the
    // absence of a stall of seconds; the release run holds it to 50 ms.
    const slack = SANITIZED ? 2000 : 50;
    assert.ok(during.length > 0);
    assert.ok(median(during) <= median(usual) + slack,
      `another user's publishes (median ${median(during).toFixed(1)} ms during, ${median(usual).toFixed(1)} ms before)`);
    for (const s of [...sockets, bystander]) await s.close();
  });

  it('recovers beyond the per-user rate are answered recovered:false', async () => {
    const first = await connect(node, 'greedy');
    await first.subscribe([{ type: 't' }]);
    const pos = recoveredIn(await recover(first));
    // Opened together and recovering together, well inside one 10 s window
    // of the per-user rate (the first socket's recover is in it too).
    const sockets = await Promise.all(Array.from({ length: 40 }, async () => {
      const s = await connect(node, 'greedy');
      await s.subscribe([{ type: 't' }]);
      return s;
    }));
    const answers = await Promise.all(sockets.map((s) => recover(s, pos)));
    const yes = answers.filter((f) => recoveredIn(f).recovered).length;
    assert.ok(yes > 0 && yes <= 31, `${yes} of 40 recovers vouched for within one window`);
    for (const s of [first, ...sockets]) await s.close();
  });
});
