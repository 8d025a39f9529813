// docs/protocol.md section 6 and the server's life cycle: isolation, many sockets,
// slow clients, configuration errors, and shutdown.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { connect, publish, sleep, startServer } from './helpers.mjs';

describe('6. guarantees', () => {
  let server;
  before(async () => { server = await startServer(); });
  after(async () => { await server.stop(); });

  it('sockets of different users never see each other\'s envelopes (users spread over shards)', async () => {
    const users = Array.from({ length: 20 }, (_, i) => `iso-${i}`);
    const clients = await Promise.all(users.map((u) => connect(server, u)));
    await Promise.all(clients.map((c) => c.subscribe([{ type: 'secret' }])));
    clients.forEach((c, i) => c.autoAck(() => users[i]));
    const answers = await Promise.all(users.map((u) => publish(server, { userId: u, type: 'secret', payload: u })));
    answers.forEach((a, i) => assert.deepEqual(a.json, { clientCount: 1, results: [users[i]] }));
    await Promise.all(clients.map((c) => c.close()));
  });

  it('delivers to many sockets of one user and collects every ack', async () => {
    const clients = [];
    for (let i = 0; i < 60; i++) clients.push(await connect(server, 'many'));
    await Promise.all(clients.map((c) => c.subscribe([{ type: 'fan' }])));
    clients.forEach((c, i) => c.autoAck(() => i));
    const r = await publish(server, { userId: 'many', type: 'fan' });
    assert.equal(r.json.clientCount, 60);
    assert.deepEqual([...r.json.results].sort((a, b) => a - b), Array.from({ length: 60 }, (_, i) => i));
    assert.ok(r.ms < 2000);
    await Promise.all(clients.map((c) => c.close()));
  });

  it('a client that never acks delays no one else', async () => {
    const silent = await connect(server, 'slowpoke');
    await silent.subscribe([{ type: 't' }]);
    const fast = await connect(server, 'speedy');
    await fast.subscribe([{ type: 't' }]);
    fast.autoAck(() => 'fast');
    const stuck = publish(server, { userId: 'slowpoke', type: 't', ackTimeoutMs: 3000 });
    await silent.next();
    const started = performance.now();
    for (let i = 0; i < 20; i++) {
      const r = await publish(server, { userId: 'speedy', type: 't' });
      assert.deepEqual(r.json, { clientCount: 1, results: ['fast'] });
    }
    assert.ok(performance.now() - started < 1500, 'other publishes completed while one waited');
    assert.equal((await stuck).json.results.length, 0);
    await silent.close();
    await fast.close();
  });

  it('a user whose sockets are gone receives nothing and costs nothing', async () => {
    const c = await connect(server, 'gone');
    await c.subscribe([{ type: 't' }]);
    await c.close();
    const r = await publish(server, { userId: 'gone', type: 't' });
    assert.deepEqual(r.json, { clientCount: 0, results: [] });
  });
});

describe('life cycle', () => {
  const bin = process.env.HOPEFLOW_BIN ?? new URL('../../build/hopeflow-realtime', import.meta.url).pathname;

  it('refuses to start without a secret, with a one-line explanation', () => {
    const r = spawnSync(bin, [], { env: { PATH: process.env.PATH, ENV_FILE: '' } });
    assert.notEqual(r.status, 0);
    const err = r.stderr.toString().trim();
    assert.match(err, /JWT_SECRET/);
    assert.equal(err.split('\n').length, 1);
  });

  it('warns about a short secret, and --help lists the settings', async () => {
    const s = await startServer({ env: { JWT_SECRET: 'short' } });
    assert.match(s.log(), /shorter than 32 bytes/);
    await s.stop();
    const help = spawnSync(bin, ['--help'], { env: { PATH: process.env.PATH } }).stdout.toString();
    for (const k of ['JWT_SECRET', 'HOST', 'PORT', 'THREADS', 'ACK_TIMEOUT_MS']) assert.match(help, new RegExp(k));
  });

  it('on SIGTERM answers in-flight publishes, closes sockets with 1001 and exits 0', async () => {
    const s = await startServer();
    const a = await connect(s, 'draining');
    await a.subscribe([{ type: 't' }]);
    const pending = publish(s, { userId: 'draining', type: 't' });
    const e = await a.nextJson();
    a.ack(e.envelopeId, 'before-shutdown');
    const b = await connect(s, 'draining-2');
    await b.subscribe([{ type: 't' }]);
    const unanswered = publish(s, { userId: 'draining-2', type: 't' });
    await b.next();
    await sleep(50);
    const started = performance.now();
    const exit = s.stop('SIGTERM');
    const r = await unanswered;
    assert.deepEqual(r.json, { clientCount: 1, results: [] });
    assert.deepEqual((await pending).json, { clientCount: 1, results: ['before-shutdown'] });
    assert.equal((await b.closed).code, 1001);
    assert.equal(await exit, 0);
    assert.ok(performance.now() - started < 4000);
  });
});
