// `hopeflow-realtime listen`, `publish` and `devices` against a running
// server: JSON lines out, acks back to the publisher, the secret read as
// `token` reads it, the URL from the configuration or --url (ws/wss and
// http/https alike), clear errors with exit codes; devices, receipts,
// `until`, `cancel` and the roster (docs/protocol.md sections 11-13);
// `publish --webhook` and the event it brings (section 14).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { publish as sdkPublish } from '../../clients/js/src/index.js';
import { SECRET, WEBHOOK_SECRET, signatureOk, startReceiver, startServer, token } from '../e2e/helpers.mjs';
import { until } from './helpers.mjs';

// The e2e tests' ws package, for a fake server.
const { WebSocketServer } = createRequire(new URL('../e2e/package.json', import.meta.url))('ws');
const BIN = process.env.HOPEFLOW_BIN ?? new URL('../../build/hopeflow-realtime', import.meta.url).pathname;
const PUBLISHER_SECRET = 'publisher-secret-that-is-32-bytes-long!!';
const baseEnv = { PATH: process.env.PATH, ENV_FILE: '', JWT_SECRET: SECRET };

function cli(args, env = {}) {
  const r = spawnSync(BIN, args, { env: { ...baseEnv, ...env }, encoding: 'utf8', timeout: 15000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

// `cli` without blocking the event loop (for a fake server in this process).
async function cliAsync(args, env = {}) {
  const proc = spawn(BIN, args, { env: { ...baseEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { err += d; });
  const [code] = await once(proc, 'exit');
  return { code, out, err };
}

// Starts `listen`; resolves once it says it is listening (subscribed).
async function listen(args, env = {}) {
  const proc = spawn(BIN, ['listen', ...args], { env: { ...baseEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = once(proc, 'exit');
  let out = '';
  let err = '';
  proc.stdout.on('data', (d) => { out += d; });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`listen did not start: ${err}`)), 10000);
    proc.stderr.on('data', (d) => {
      err += d;
      if (/listening/.test(err)) { clearTimeout(timer); resolve(); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`listen exited ${code}: ${err}`)); });
  });
  return { proc, exited, lines: () => out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)), err: () => err };
}

const stop = async (l) => {
  if (l.proc.exitCode !== null || l.proc.signalCode !== null) return;
  l.proc.kill('SIGCONT');
  l.proc.kill('SIGTERM');
  await l.exited;
};

describe('CLI', () => {
  let server;
  before(async () => { server = await startServer({ single: true }); });
  after(() => server.stop());

  it('listen prints envelopes as JSON lines and acks them; publish prints the answer', async () => {
    const l = await listen(['--user', 'cli-user', '--filter', 'type=chat_message,questId=q1', '--filter', 'type=typing',
      '--ack', '{"read":true}', '--recover', '--count', '3', '--url', server.http]);
    const p1 = cli(['publish', '--user', 'cli-user', '--type', 'chat_message', '--payload', '{"questId":"q1","text":"hi"}', '--url', server.http]);
    assert.equal(p1.code, 0, p1.err);
    assert.deepEqual(JSON.parse(p1.out), { clientCount: 1, results: [{ read: true }] });
    const p2 = cli(['publish', '--user', 'cli-user', '--type', 'chat_message', '--payload', '{"questId":"q2"}', '--url', server.ws]);
    assert.deepEqual(JSON.parse(p2.out), { clientCount: 0, results: [] }, 'another quest: not subscribed (and ws:// works for publish)');
    // The default URL is the configured server's (PORT from the environment).
    const p3 = cli(['publish', '--user', 'cli-user', '--type', 'typing'], { PORT: String(server.port) });
    assert.deepEqual(JSON.parse(p3.out), { clientCount: 1, results: [{ read: true }] });
    const answer = await sdkPublish({ url: server.http, token: await token('someone'), userId: 'cli-user', type: 'chat_message', payload: { questId: 'q1', n: 3 } });
    assert.deepEqual(answer, { clientCount: 1, results: [{ read: true }] });
    const [code] = await once(l.proc, 'exit');
    assert.equal(code, 0, '--count 3: done after three envelopes');
    const lines = l.lines();
    assert.equal(lines[0].type, 'recovered', '--recover: the recovered frame first');
    const envs = lines.filter((x) => x.envelopeId);
    assert.deepEqual(envs.map((e) => [e.type, e.payload?.questId ?? null]), [['chat_message', 'q1'], ['typing', null], ['chat_message', 'q1']]);
    assert.ok(envs.every((e) => e.userId === 'cli-user' && typeof e.offset === 'number'));
  });

  it('publish --idempotency-key: run again with the same key, the first answer comes back and nothing is delivered twice (section 15)', async () => {
    const l = await listen(['--user', 'cli-idem', '--filter', 'type=m', '--ack', '"seen"', '--url', server.http]);
    const args = ['publish', '--user', 'cli-idem', '--type', 'm', '--idempotency-key', 'cli-order-1', '--url', server.http];
    const first = cli(args);
    assert.equal(first.code, 0, first.err);
    assert.deepEqual(JSON.parse(first.out), { clientCount: 1, results: ['seen'] });
    assert.doesNotMatch(first.err, /replayed/);
    const again = cli(args);
    assert.equal(again.code, 0, again.err);
    assert.equal(again.out, first.out);
    assert.match(again.err, /replayed: the first answer of this Idempotency-Key/);
    const other = cli(['publish', '--user', 'cli-idem', '--type', 'other', '--idempotency-key', 'cli-order-1', '--url', server.http]);
    assert.equal(other.code, 1);
    assert.match(other.err, /HTTP 422 .*Idempotency-Key reused with a different body/);
    await stop(l);
    assert.equal(l.lines().filter((x) => x.envelopeId).length, 1, 'delivered once');
  });

  it('publish --users: an envelope for each user, and an answer with every user\'s part (section 15)', async () => {
    const ann = await listen(['--user', 'cli-mu-ann', '--filter', 'type=m', '--ack', '"ann saw it"', '--count', '1', '--url', server.http]);
    const bob = await listen(['--user', 'cli-mu-bob', '--filter', 'type=m', '--ack', '"bob saw it"', '--count', '1', '--url', server.http]);
    const r = cli(['publish', '--users', 'cli-mu-bob,cli-mu-ann, cli-mu-bob,cli-mu-nobody', '--type', 'm', '--payload', '{"n":1}', '--url', server.http]);
    assert.equal(r.code, 0, r.err);
    const answer = JSON.parse(r.out);
    assert.deepEqual(Object.keys(answer.users), ['cli-mu-bob', 'cli-mu-ann', 'cli-mu-nobody']);
    assert.deepEqual(answer.results, ['bob saw it', 'ann saw it']);
    await Promise.all([ann.exited, bob.exited]);
    const [annEnv] = ann.lines(), [bobEnv] = bob.lines();
    assert.equal(answer.users['cli-mu-ann'].envelopeId, annEnv.envelopeId);
    assert.equal(answer.users['cli-mu-bob'].envelopeId, bobEnv.envelopeId);
    assert.deepEqual([annEnv.userId, bobEnv.userId], ['cli-mu-ann', 'cli-mu-bob']);
    for (const bad of ['', 'a,,b', 'a, ', Array.from({ length: 1001 }, (_, i) => `u${i}`).join(',')]) {
      const refused = cli(['publish', '--users', bad, '--url', server.http]);
      assert.equal(refused.code, 2, bad.slice(0, 20));
      assert.match(refused.err, /bad value for --users \(expected 1 to 1000 comma-separated user ids, none blank\)/);
    }
    const both = cli(['publish', '--user', 'a', '--users', 'b', '--url', server.http]);
    assert.equal(both.code, 2);
    assert.match(both.err, /--user or --users, not both/);
    assert.match(cli(['publish', '--help']).err, /--users ID,ID,\.\.\./);
  });

  it('refuses bad input with a clear line and exit 2, and reports refusals with exit 1', async () => {
    let r = cli(['publish', '--user', 'u', '--payload', '{bad', '--url', server.http]);
    assert.equal(r.code, 2);
    assert.match(r.err, /--payload \(not JSON\)/);
    r = cli(['listen', '--user', 'u', '--filter', 'questId=q1', '--url', server.http]);
    assert.equal(r.code, 2);
    assert.match(r.err, /expected type=T/);
    r = cli(['listen', '--user', 'u', '--url', server.http]);
    assert.equal(r.code, 2);
    assert.match(r.err, /at least one --filter/);
    r = cli(['publish', '--user', 'u', '--url', 'ftp://x']);
    assert.equal(r.code, 2);
    assert.match(r.err, /--url must be/);
    r = cli(['publish', '--user', 'u', '--token', 'not-a-token', '--url', server.http]);
    assert.equal(r.code, 1);
    assert.match(r.err, /HTTP 401 \{"error":"Unauthorized"\}/);
    r = cli(['listen', '--token', 'not-a-token', '--filter', 'type=x', '--url', server.http]);
    assert.equal(r.code, 1);
    assert.match(r.err, /upgrade refused: HTTP 401/);
    r = cli(['publish', '--user', 'u'], { JWT_SECRET: '', PORT: String(server.port) });
    assert.equal(r.code, 2);
    r = cli(['publish', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.err, /usage: .* publish --user ID.* \[--receipts\] \[--until first\|all\|N\] \[--cancel\]/);
    for (const bad of ['0', '-1', 'ALL', '1.5', '']) {
      r = cli(['publish', '--user', 'u', '--until', bad, '--url', server.http]);
      assert.equal(r.code, 2, bad);
      assert.match(r.err, /bad value for --until \(expected first, all or an integer >= 1\)/, bad);
    }
    r = cli(['devices', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.err, /usage: .* devices --user ID/);
    r = cli(['devices', '--url', server.http]);
    assert.equal(r.code, 2, 'devices needs --user');
    assert.match(r.err, /usage: .* devices --user ID/);
    r = cli(['devices', '--user', 'u', '--token', 'not-a-token', '--url', server.http]);
    assert.equal(r.code, 1);
    assert.match(r.err, /^hopeflow-realtime devices: HTTP 401 \{"error":"Unauthorized"\}/);
    r = cli(['listen', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.err, /\[--device D\]/);
    r = cli(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.out, /devices --user ID/);
  });

  it('mints a publisher token with PUBLISH_SECRET when the server restricts publishing', async () => {
    const restricted = await startServer({ single: true, env: { PUBLISH_SECRET: PUBLISHER_SECRET } });
    try {
      const l = await listen(['--user', 'dee', '--filter', 'type=t', '--count', '1', '--url', restricted.http]);
      const r = cli(['publish', '--user', 'dee', '--type', 't', '--url', restricted.http], { PUBLISH_SECRET: PUBLISHER_SECRET });
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(JSON.parse(r.out), { clientCount: 1, results: [null] });
      await once(l.proc, 'exit');
      const denied = cli(['publish', '--user', 'dee', '--type', 't', '--url', restricted.http]);
      assert.equal(denied.code, 1);
      assert.match(denied.err, /HTTP 403/);
      const roster = cli(['devices', '--user', 'dee', '--url', restricted.http], { PUBLISH_SECRET: PUBLISHER_SECRET });
      assert.equal(roster.code, 0, roster.err);
      assert.deepEqual(JSON.parse(roster.out), { userId: 'dee', devices: [] });
      const rosterDenied = cli(['devices', '--user', 'dee', '--url', restricted.http]);
      assert.equal(rosterDenied.code, 1);
      assert.match(rosterDenied.err, /devices: HTTP 403/);
    } finally {
      await restricted.stop();
    }
  });

  it('devices, receipts, until first and cancel: listen --device, publish --receipts, devices --user, 4002', async () => {
    const user = 'cli devices/user';  // a space and a slash: percent-encoded in the roster's path
    const phone = await listen(['--user', user, '--device', 'phone', '--filter', 'type=note', '--ack', '"phone saw it"', '--url', server.ws]);
    const laptop = await listen(['--user', user, '--device', 'lap&top=1', '--filter', 'type=note', '--url', server.ws]);
    let phone2;
    try {
      assert.match(phone.err(), /listening \(1 filters, device phone\)/);
      let r = cli(['devices', '--user', user, '--url', server.http]);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.err, '', 'no hopeflow-degraded header on one node');
      const roster = JSON.parse(r.out);
      assert.equal(roster.userId, user);
      assert.deepEqual(roster.devices.map((d) => d.device).sort(), ['lap&top=1', 'phone']);
      assert.ok(roster.devices.every((d) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(d.since)));

      // The laptop does not read (stopped), so it never acks: --until first
      // answers with the phone's ack, and --cancel then withdraws the
      // envelope from the laptop.
      laptop.proc.kill('SIGSTOP');
      r = cli(['publish', '--user', user, '--type', 'note', '--payload', '{"n":1}', '--receipts', '--until', 'first', '--cancel',
        '--ack-timeout', '10000', '--url', server.http]);
      assert.equal(r.code, 0, r.err);
      const answer = JSON.parse(r.out);
      assert.equal(answer.clientCount, 2);
      assert.deepEqual(answer.results, ['phone saw it']);
      assert.equal(answer.devices.length, 2);
      assert.deepEqual({ ...answer.devices[0], ackMs: 0 }, { device: 'phone', state: 'acked', result: 'phone saw it', ackMs: 0 });
      assert.equal(typeof answer.devices[0].ackMs, 'number');
      assert.deepEqual(answer.devices[1], { device: 'lap&top=1', state: 'pending' });
      laptop.proc.kill('SIGCONT');
      const { envelopeId } = await until(() => phone.lines().find((x) => x.type === 'note'), 'the envelope on the phone');
      await until(() => laptop.lines().some((x) => x.type === 'cancel'), 'the cancel frame on the laptop');
      const got = laptop.lines();
      assert.deepEqual(got.map((x) => x.type), ['note', 'cancel']);
      assert.equal(got[0].envelopeId, envelopeId);
      assert.deepEqual(got[1], { type: 'cancel', envelopeId });
      assert.ok(!phone.lines().some((x) => x.type === 'cancel'), 'the device that acked gets no cancel');

      // Numbers pass through as integers; both listeners still ack.
      r = cli(['publish', '--user', user, '--type', 'note', '--receipts', '--until', '2', '--url', server.http]);
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(JSON.parse(r.out).devices.map((d) => d.state), ['acked', 'acked']);

      // A second socket of the phone replaces the first: 4002, exit 1.
      phone2 = await listen(['--user', user, '--device', 'phone', '--filter', 'type=note', '--url', server.ws]);
      const [code] = await phone.exited;
      assert.equal(code, 1);
      assert.match(phone.err(), /^hopeflow-realtime listen: closed by the server: 4002 replaced \(another socket of this device opened\)$/m);
      r = cli(['devices', '--user', user, '--url', server.http]);
      assert.equal(JSON.parse(r.out).devices.length, 2, 'the new phone and the laptop');
    } finally {
      await Promise.all([phone, laptop, phone2].filter(Boolean).map(stop));
    }
  });

  it('listen --device refuses a name that is not 1 to 64 characters ! to ~ before connecting', () => {
    for (const bad of ['', 'has space', 'x'.repeat(65), 'caf\u00e9', 'tab\there']) {
      // No server at this URL: the name is checked before any connection.
      const r = cli(['listen', '--user', 'u', '--device', bad, '--filter', 'type=x', '--url', 'http://127.0.0.1:9']);
      assert.equal(r.code, 2, JSON.stringify(bad));
      assert.match(r.err, /^hopeflow-realtime listen: bad value for --device \(expected 1 to 64 printable ASCII characters, ! to ~, no spaces\)\n$/);
    }
  });
});

describe('CLI: publish --webhook (section 14)', () => {
  let server, receiver;
  before(async () => {
    receiver = await startReceiver();
    server = await startServer({ single: true, env: { WEBHOOK_URL: receiver.url, WEBHOOK_SECRET } });
  });
  after(async () => { await server?.stop(); await receiver?.stop(); });

  it('sends "webhook": true; the unacked event of a publish that reached nobody arrives, signed', async () => {
    const r = await cliAsync(['publish', '--user', 'cli-wh-nobody', '--type', 'call', '--payload', '{"from":"ann"}', '--webhook', '--url', server.http]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(JSON.parse(r.out), { clientCount: 0, results: [] }, 'the answer is unchanged');
    const e = await receiver.waitFor((x) => x.event === 'unacked' && x.envelope?.userId === 'cli-wh-nobody');
    assert.equal(e.envelope.type, 'call');
    assert.deepEqual(e.envelope.payload, { from: 'ann' });
    assert.equal(e.clientCount, 0);
    assert.ok(signatureOk(receiver.posts.find((p) => p.json?.id === e.id)), 'signed with WEBHOOK_SECRET');
    // Without --webhook, no event.
    const before = receiver.posts.length;
    const plain = await cliAsync(['publish', '--user', 'cli-wh-plain', '--type', 'call', '--url', server.http]);
    assert.equal(plain.code, 0, plain.err);
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(receiver.posts.length, before, 'no event without --webhook');
  });

  it('a server without WEBHOOK_URL refuses it: exit 1 with its 400; --help names the flag', async () => {
    const plain = await startServer({ single: true });
    try {
      const r = await cliAsync(['publish', '--user', 'u', '--webhook', '--url', plain.http]);
      assert.equal(r.code, 1);
      assert.match(r.err, /HTTP 400 .*webhook is not configured/);
    } finally {
      await plain.stop();
    }
    assert.match(cli(['publish', '--help']).err, /\[--webhook\].*\n[\s\S]*--webhook asks the server to POST unacked \/ late_ack events/);
    assert.match(cli(['--help']).out + cli(['--help']).err, /publish --user ID .*\[--webhook\]/);
  });
});

// Against a fake server in this process: exactly what the CLI sends.
describe('CLI against a fake server', () => {
  let fake;
  let port;
  const upgrades = [];
  const requests = [];
  before(async () => {
    fake = http.createServer((req, res) => {
      requests.push({ method: req.method, url: req.url, authorization: req.headers.authorization });
      res.writeHead(200, { 'content-type': 'application/json', 'hopeflow-degraded': 'partial' });
      res.end('{"userId":"a/b c","devices":[]}');
    });
    const wss = new WebSocketServer({ server: fake });
    wss.on('connection', (ws, req) => {
      const sent = [];
      upgrades.push({ url: req.url, sent });
      ws.on('message', (data) => {
        const text = data.toString();
        sent.push(text);
        if (text !== 'ping') return;
        ws.send('pong');
        ws.send('{"type":"cancel","envelopeId":"e-0"}');
        // An envelope of type "cancel" is still an envelope: acked.
        ws.send('{"envelopeId":"e-1","type":"cancel","userId":"u","timestamp":"2026-12-07T09:00:00.000Z"}');
      });
    });
    fake.listen(0, '127.0.0.1');
    await once(fake, 'listening');
    port = fake.address().port;
  });
  after(() => fake.close());

  it('listen sends ?device= and acks envelopes only, never a cancel frame', async () => {
    const r = await cliAsync(['listen', '--user', 'u', '--device', 'a&b=c', '--filter', 'type=cancel', '--count', '1', '--url', `ws://127.0.0.1:${port}/base/`]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.out.trim().split('\n').map((l) => JSON.parse(l).envelopeId), ['e-0', 'e-1'], 'both printed');
    const { url, sent } = upgrades.at(-1);
    assert.equal(url, '/base/?device=a%26b%3Dc');
    await until(() => sent.some((m) => m.includes('"ack"')), 'the ack');
    const acks = sent.filter((m) => m !== 'ping').map((m) => JSON.parse(m)).filter((m) => m.type === 'ack');
    assert.deepEqual(acks, [{ type: 'ack', envelopeId: 'e-1', result: null }]);
  });

  it('devices GETs /users/<encoded id>/devices and reports hopeflow-degraded on stderr', async () => {
    const r = await cliAsync(['devices', '--user', 'a/b c', '--token', 'tok', '--url', `http://127.0.0.1:${port}`]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(JSON.parse(r.out), { userId: 'a/b c', devices: [] });
    assert.equal(r.err, 'hopeflow-realtime devices: degraded: partial\n');
    assert.deepEqual(requests.at(-1), { method: 'GET', url: '/users/a%2Fb%20c/devices', authorization: 'Bearer tok' });
  });
});
