// Our nodes on a real Redis Cluster (REDIS_CLUSTER_NODES): 3 masters and 3
// replicas started by the test (redis-server --cluster-enabled, redis-cli
// --cluster create), three of our nodes on it. Sharded pub/sub only, users
// in every shard, recovery across nodes, and a user's slot migrated while
// its sockets are connected. (Masters killed under publishing:
// tests/chaos/redis_cluster.test.mjs.)
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, dropAndRecover, envelopesIn, publish, recover, recoveredIn, sleep, startRedisCluster, startServer, waitReady } from './helpers.mjs';

const ACK_MS = 1500;

// CRC16/XMODEM mod 16384 of a key's hash tag: Redis's slot, computed here so
// that many candidate user ids can be tried cheaply (the test checks it
// against CLUSTER KEYSLOT).
function keySlot(key) {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  let crc = 0;
  for (const byte of Buffer.from(key)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

describe('Redis Cluster (sharded pub/sub)', () => {
  let cluster, a, b, c;
  const node = (id, env = {}) => startServer({ single: true, env: { REDIS_CLUSTER_NODES: cluster.seeds, NODE_ID: id, HISTORY_SIZE: '100', ACK_TIMEOUT_MS: '5000', ...env } });
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
    const { again, frames, epoch, seen } = await dropAndRecover('roamer', { first: a, seenVia: b, missedVia: c, back: b });
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
    console.log(`slot migration: every publish reached both sockets again ${Math.round(firstFull)} ms after the move`);
    const stats = await cluster.cli(target.port, 'pubsub', 'shardnumsub', `hf:{u:${user}}:c`);
    assert.match(stats, /\n2\n?$/, 'both nodes subscribed on the new master');
    await onA.close(); await onB.close();
  });

  it('redis-cli --cluster reshard moves a few slots, the user\'s among them, under publishing: delivery goes on', async () => {
    // A user whose slot is among the first 4 of a master's range: reshard
    // moves a source's lowest slots first.
    const ranges = JSON.parse(await cluster.cli(cluster.nodes[0].port, '--json', 'cluster', 'slots'));
    let user, range;
    for (let i = 0; !user && i < 200000; i++) {
      const slot = keySlot(`hf:{u:reshard-${i}}:c`);
      range = ranges.find(([first]) => slot >= first && slot < first + 4);
      if (range) user = `reshard-${i}`;
    }
    assert.ok(user, 'a user id in the first slots of a range');
    assert.equal(await channelSlot(user), keySlot(`hf:{u:${user}}:c`), 'the same slot as Redis computes');
    const source = cluster.nodes.find((n) => n.port === range[2][1]);
    const sourceId = range[2][2];
    const targetRange = ranges.find((r) => r[2][1] !== source.port);
    const targetId = targetRange[2][2];
    const sockets = [await connect(a, user), await connect(b, user)];
    for (const s of sockets) { await s.subscribe([{ type: 'm' }]); s.autoAck(() => 'ok'); }
    let stopping = false;
    const answers = [];
    const loop = (async () => {
      for (let i = 0; !stopping; i++) {
        const r = await publish([a, b, c][i % 3], { userId: user, type: 'm', payload: i, ackTimeoutMs: ACK_MS });
        answers.push({ status: r.status, count: r.json?.clientCount, t: performance.now() });
        await sleep(10);
      }
    })();
    let moved = Infinity;
    try {
      await sleep(300);
      await cluster.cli(source.port, '--cluster', 'reshard', `127.0.0.1:${source.port}`, '--cluster-from', sourceId, '--cluster-to', targetId, '--cluster-slots', '4', '--cluster-yes');
      moved = performance.now();
      await sleep(1500);
    } finally {
      stopping = true;
      await loop;
    }
    assert.equal((await cluster.masterOf(keySlot(`hf:{u:${user}}:c`))).port, targetRange[2][1], 'the slot moved');
    assert.ok(answers.every((x) => x.status === 200), 'every publish answered');
    const after = answers.filter((x) => x.t > moved + 500);
    assert.ok(after.length > 10 && after.every((x) => x.count === 2), `after the move every publish reaches both sockets: ${after.map((x) => x.count).join(',')}`);
    const missed = answers.filter((x) => x.count !== 2).length;
    console.log(`reshard: ${answers.length} publishes during and after a 4-slot reshard, ${missed} reached fewer than both sockets`);
    for (const s of sockets) await s.close();
  });

  it('a master that stops answering (CLIENT PAUSE) is dropped within 5 s and taken back when it answers again', { timeout: 60000 }, async () => {
    const user = 'paused';
    const master = await cluster.masterOf(await channelSlot(user));
    const first = await connect(a, user);
    await first.subscribe([{ type: 'm' }]);
    first.autoAck(() => 'first');
    // Every command held for 9 s, connections open: like a hung host.
    await cluster.cli(master.port, 'client', 'pause', '9000', 'all');
    const pausedAt = performance.now();
    // Past the links' reply timeout: 3 s without an answer, checked every
    // second, counted from the last answer (a PING at most a second before).
    await sleep(5000);
    // Its users' sockets open at once (delivered to locally) instead of
    // waiting for a subscription, and a publish is answered, marked.
    const t0 = performance.now();
    const second = await connect(a, user);
    assert.ok(performance.now() - t0 < 1000, 'the socket opened without waiting for the paused master');
    await second.subscribe([{ type: 'm' }]);
    second.autoAck(() => 'second');
    const during = await publish(a, { userId: user, type: 'm', ackTimeoutMs: ACK_MS });
    assert.equal(during.status, 200);
    assert.equal(during.headers.get('hopeflow-degraded'), 'local-only');
    const gauge = async (n) => Number(/hopeflow_cluster_redis_masters_unreachable (\d+)/.exec(await (await fetch(`${n.http}/metrics`)).text())[1]);
    assert.equal(await gauge(a), 1, 'the metric names one unusable master');
    assert.equal((await fetch(`${a.http}/readyz`)).status, 200, 'the node stays ready for the other shards');
    assert.deepEqual([...during.json.results].sort(), ['first', 'second']);
    // Answering again: dialled after its cooldown, subscribed again, and
    // publishes through another node reach both sockets.
    let back = null;
    for (let i = 0; i < 100 && !back; i++) {
      const r = await publish(b, { userId: user, type: 'm', ackTimeoutMs: ACK_MS });
      if (r.json.clientCount === 2 && !r.headers.get('hopeflow-degraded')) back = performance.now() - pausedAt;
      else await sleep(100);
    }
    assert.ok(back !== null && back < 9000 + 4000, `delivered through another node again ${back} ms after the pause began`);
    assert.equal(await gauge(b), 0);
    console.log(`paused master: local delivery 5 s into a 9 s pause, full delivery again ${Math.round(back)} ms after it began`);
    await first.close(); await second.close();
  });
});
