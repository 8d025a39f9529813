// Our nodes on a real Redis Cluster (REDIS_CLUSTER_NODES): 3 masters and 3
// replicas started by the test (redis-server --cluster-enabled, redis-cli
// --cluster create), three of our nodes on it. Sharded pub/sub only, users
// in every shard, recovery across nodes, a master killed under continuous
// publishing (failover to its replica), and a user's slot migrated while its
// sockets are connected.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, envelopesIn, publish, recover, recoveredIn, sleep, startRedisCluster, startServer, waitReady } from './helpers.mjs';

const ACK_MS = 1500;
// A publish is answered by its deadline plus the cluster's collection floor,
// the session backstop and scheduling slack on a loaded 2-core machine.
const ANSWER_BOUND_MS = ACK_MS + 250 + 500 + 1000;
// After a master is killed: cluster-node-timeout (1 s), the replica's
// election (0.5-1.5 s), then our nodes' reconnect (backoff at most 1 s).
const RESUME_BOUND_MS = 8000;

describe('Redis Cluster (sharded pub/sub)', () => {
  let cluster, a, b, c;
  const node = (id, env = {}) => startServer({ single: true, env: { REDIS_CLUSTER_NODES: cluster.seeds, NODE_ID: id, HISTORY_SIZE: '5000', ACK_TIMEOUT_MS: '5000', ...env } });
  // The slot of a user's channel, as Redis computes it (CRC16/XMODEM of the
  // hash tag), asked of a live node.
  const channelSlot = async (user) => {
    for (const n of cluster.nodes) {
      if (n.proc.exitCode !== null || n.proc.signalCode !== null) continue;
      return Number(await cluster.cli(n.port, 'cluster', 'keyslot', `hf:{u:${user}}:c`));
    }
    throw new Error('no live Redis node');
  };
  before(async () => {
    cluster = await startRedisCluster();
    [a, b, c] = await Promise.all(['ca', 'cb', 'cc'].map((id) => node(id)));
    await waitReady([a, b, c]);
  });
  after(async () => {
    for (const n of [a, b, c]) await n?.stop();
    await cluster?.stop();
  });

  it('delivers to users in every shard across nodes, with SPUBLISH and SSUBSCRIBE only', async () => {
    const users = Array.from({ length: 24 }, (_, i) => `spread-${i}`);
    const masters = new Set();
    for (const u of users) masters.add((await cluster.masterOf(await channelSlot(u))).port);
    assert.equal(masters.size, 3, 'the users live on every master');
    const nodes = [a, b, c];
    const sockets = await Promise.all(users.map((u, i) => connect(nodes[i % 3], u)));
    for (const s of sockets) { await s.subscribe([{ type: 'm' }]); s.autoAck((e) => ({ user: e.userId })); }
    const answers = await Promise.all(users.map((u, i) => publish(nodes[(i + 1) % 3], { userId: u, type: 'm', payload: i, ackTimeoutMs: ACK_MS })));
    answers.forEach((r, i) => {
      assert.equal(r.status, 200);
      assert.deepEqual(r.json, { clientCount: 1, results: [{ user: users[i] }] }, users[i]);
    });
    // Sharded pub/sub only: no classic PUBLISH (which a Redis Cluster
    // broadcasts to every node), the user channels as shard channels.
    let spublish = 0, classic = 0, shardChannels = 0;
    for (const n of cluster.nodes) {
      const stats = await cluster.cli(n.port, 'info', 'commandstats');
      spublish += Number(/cmdstat_spublish:calls=(\d+)/.exec(stats)?.[1] ?? 0);
      classic += Number(/cmdstat_publish:calls=(\d+)/.exec(stats)?.[1] ?? 0);
      shardChannels += (await cluster.cli(n.port, 'pubsub', 'shardchannels', 'hf:{u:spread-*')).split('\n').filter(Boolean).length;
    }
    assert.ok(spublish >= users.length * 2, `SPUBLISH calls: ${spublish}`);  // each publish and each answer
    assert.equal(classic, 0);
    assert.equal(shardChannels, users.length);
    await Promise.all(sockets.map((s) => s.close()));
  });

  it('recovers across nodes: offsets and history live in the user\'s shard', async () => {
    const first = await connect(a, 'roamer');
    await first.subscribe([{ type: 'chat' }]);
    const { epoch } = recoveredIn(await recover(first));
    await publish(b, { userId: 'roamer', type: 'chat', payload: 'seen', ackTimeoutMs: 0 });
    const seen = await first.nextJson();
    await first.close();
    for (const [type, payload] of [['chat', 'm1'], ['typing', 'x'], ['chat', 'm2']])
      await publish(c, { userId: 'roamer', type, payload, ackTimeoutMs: 0 });
    const again = await connect(b, 'roamer');
    await again.subscribe([{ type: 'chat' }]);
    const frames = await recover(again, { epoch, offset: seen.offset });
    assert.deepEqual(envelopesIn(frames).map((e) => [e.payload, e.offset - seen.offset]), [['m1', 1], ['m2', 3]]);
    assert.deepEqual(recoveredIn(frames), { type: 'recovered', epoch, offset: seen.offset + 3, recovered: true });
    await again.close();
  });

  it('a user\'s slot migrated to another master while its sockets are connected: delivery goes on', async () => {
    const user = 'mover';
    const onA = await connect(a, user);
    const onB = await connect(b, user);
    for (const s of [onA, onB]) { await s.subscribe([{ type: 'm' }]); s.autoAck(() => 'ok'); }
    const first = await publish(c, { userId: user, type: 'm', payload: 0, ackTimeoutMs: ACK_MS });
    assert.deepEqual(first.json, { clientCount: 2, results: ['ok', 'ok'] });
    const slot = await channelSlot(user);
    const source = await cluster.masterOf(slot);
    const masters = [];
    for (const n of cluster.nodes) if (/role:master/.test(await cluster.cli(n.port, 'info', 'replication'))) masters.push(n);
    const target = masters.find((n) => n.port !== source.port);
    const id = async (n) => (await cluster.cli(n.port, 'cluster', 'myid')).trim();
    const [sourceId, targetId] = [await id(source), await id(target)];
    // What redis-cli --cluster reshard does for one slot.
    await cluster.cli(target.port, 'cluster', 'setslot', String(slot), 'importing', sourceId);
    await cluster.cli(source.port, 'cluster', 'setslot', String(slot), 'migrating', targetId);
    // Publishing while the slot is half-moved: answered (ASK/TRYAGAIN followed).
    const during = await publish(c, { userId: user, type: 'm', payload: 1, ackTimeoutMs: ACK_MS });
    assert.equal(during.status, 200);
    const keys = (await cluster.cli(source.port, 'cluster', 'getkeysinslot', String(slot), '100')).split('\n').filter(Boolean);
    if (keys.length) await cluster.cli(source.port, 'migrate', '127.0.0.1', String(target.port), '', '0', '5000', 'keys', ...keys);
    for (const n of masters) await cluster.cli(n.port, 'cluster', 'setslot', String(slot), 'node', targetId);
    assert.equal((await cluster.masterOf(slot)).port, target.port);
    // Delivery continues: every publish after the move reaches both sockets.
    let firstFull = null;
    const started = performance.now();
    for (let i = 0; i < 40; i++) {
      const r = await publish([a, b, c][i % 3], { userId: user, type: 'm', payload: 2 + i, ackTimeoutMs: ACK_MS });
      assert.equal(r.status, 200);
      if (r.json.clientCount === 2 && firstFull === null) firstFull = performance.now() - started;
      if (firstFull !== null) assert.deepEqual(r.json, { clientCount: 2, results: ['ok', 'ok'] }, `publish ${i} after the move`);
      await sleep(25);
    }
    assert.ok(firstFull !== null && firstFull < 2000, `full delivery again after ${firstFull} ms`);
    const stats = await cluster.cli(target.port, 'pubsub', 'shardnumsub', `hf:{u:${user}}:c`);
    assert.match(stats, /\n2\n?$/, 'both nodes subscribed on the new master');
    await onA.close(); await onB.close();
  });

  it('a master killed under continuous publishing: every publish answered once by its bound, delivery resumes after the failover, no duplicates, recovery honest', { timeout: 90000 }, async () => {
    // Users on the master that will be killed, and users elsewhere.
    const victim = cluster.nodes.find((n) => n.port === Number(cluster.seeds.split(',')[0].split(':')[1]));
    const users = [];
    for (let i = 0; users.length < 6; i++) {
      const u = `fo-${i}`;
      const onVictim = (await cluster.masterOf(await channelSlot(u))).port === victim.port;
      if (onVictim ? users.filter((x) => x.onVictim).length < 3 : users.filter((x) => !x.onVictim).length < 3) users.push({ name: u, onVictim });
    }
    const stats = { publishes: 0, answered: 0, late: 0, worstMs: 0, duplicates: 0, wrongUser: 0, non200: 0 };
    for (const u of users) {
      u.socket = await connect(c, u.name);
      await u.socket.subscribe([{ type: 'm' }]);
      u.epoch = recoveredIn(await recover(u.socket)).epoch;
      u.epochChanges = 0;
      u.seen = new Set();
      u.socket.auto = (m) => {
        if (m === 'pong') return;
        const e = JSON.parse(m);
        // A new epoch is announced before its first envelope (section 7).
        if (e.type === 'recovered') { assert.equal(e.recovered, false); u.epoch = e.epoch; u.epochChanges++; return; }
        if (e.userId !== u.name) stats.wrongUser++;
        if (u.seen.has(e.envelopeId)) stats.duplicates++;
        u.seen.add(e.envelopeId);
        u.last = { epoch: u.epoch, offset: e.offset };
        u.socket.ack(e.envelopeId, u.name);
      };
    }
    const log = [];  // [t, user, clientCount]
    let stopping = false, killedAt = null;
    const t0 = performance.now();
    const loop = async (via) => {
      for (let i = 0; !stopping; i++) {
        const u = users[i % users.length];
        stats.publishes++;
        const started = performance.now();
        const r = await publish(via, { userId: u.name, type: 'm', payload: i, ackTimeoutMs: ACK_MS });
        const ms = performance.now() - started;
        stats.answered++;
        stats.worstMs = Math.max(stats.worstMs, ms);
        if (ms > ANSWER_BOUND_MS) stats.late++;
        if (r.status !== 200) stats.non200++;
        else log.push([started - t0, u, r.json.clientCount, r.headers.get('hopeflow-degraded')]);
        await sleep(10);
      }
    };
    const positions = {};  // each user's last position before the kill
    const loops = [loop(a), loop(b)];
    try {
    await sleep(1500);
    Object.assign(positions, Object.fromEntries(users.map((u) => [u.name, u.last])));
    killedAt = performance.now() - t0;
    await victim.stop();  // SIGKILL
    // Wait for the replica's promotion, then keep publishing a while.
    for (let i = 0; i < 200 && (await cluster.masterOf(await channelSlot(users.find((u) => u.onVictim).name)))?.port === victim.port; i++) await sleep(50);
    await sleep(RESUME_BOUND_MS);
    } finally {
      stopping = true;
      await Promise.all(loops);
    }
    // Every publish answered once, in time.
    assert.equal(stats.answered, stats.publishes);
    assert.equal(stats.non200, 0);
    assert.equal(stats.late, 0, `worst ${stats.worstMs} ms`);
    assert.equal(stats.duplicates, 0);
    assert.equal(stats.wrongUser, 0);
    // Delivery resumed for every user: the last publishes reach its socket.
    const after = log.filter(([t]) => t > killedAt);
    let resumedAt = 0;
    for (const u of users) {
      const mine = after.filter(([, x]) => x === u);
      const lastMiss = mine.findLast(([, , n]) => n !== 1);
      if (lastMiss) resumedAt = Math.max(resumedAt, lastMiss[0] - killedAt);
      assert.equal(mine.at(-1)[2], 1, `${u.name}: delivered again at the end`);
    }
    assert.ok(resumedAt < RESUME_BOUND_MS, `delivery resumed ${resumedAt} ms after the kill`);
    // Recovery is honest: a position from before the kill is either answered
    // in full (the same envelopes the live socket saw since) or recovered:false.
    assert.equal(Object.values(positions).filter(Boolean).length, users.length, 'every socket had a position before the kill');
    for (const u of users) {
      const probe = await connect(a, u.name);
      await probe.subscribe([{ type: 'm' }]);
      const frames = await recover(probe, positions[u.name]);
      const r = recoveredIn(frames);
      if (process.env.DEBUG_FAILOVER) console.log(u.name, u.onVictim, JSON.stringify(positions[u.name]), JSON.stringify(r), envelopesIn(frames).length);
      if (r.recovered) {
        const got = envelopesIn(frames).map((e) => e.envelopeId);
        assert.ok(got.every((id) => u.seen.has(id)), `${u.name}: recovered only what was published`);
        assert.equal(got.length, r.offset - positions[u.name].offset, `${u.name}: recovered:true means nothing missing`);
      } else {
        assert.ok(u.onVictim, `${u.name}: a user whose shard never failed keeps its epoch`);
      }
      await probe.close();
    }
    console.log(`failover: ${stats.publishes} publishes, worst answer ${Math.round(stats.worstMs)} ms, delivery resumed ${Math.round(resumedAt)} ms after the kill`);
    for (const u of users) await u.socket.close();
    await victim.restart();  // back as a replica
  });
});
