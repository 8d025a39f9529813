// docs/protocol.md section 14: the backend is told when nobody handled an
// envelope (`unacked`) and about acks after the answer (`late_ack`), by
// signed POSTs to WEBHOOK_URL, retried until they get a 2xx. The receiver is
// a real node:http server on a free loopback port. With HOPEFLOW_CLUSTER=1
// sockets are on one node and publishes go through the other.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import {
  CLUSTER, SECRET, WEBHOOK_SECRET, connect, connectDevice, publish, signatureOk, sleep,
  startReceiver, startServer,
} from './helpers.mjs';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('14. webhooks: one receiver, every event rule', () => {
  let server, receiver;
  before(async () => {
    receiver = await startReceiver();
    server = await startServer({ env: { WEBHOOK_URL: receiver.url, WEBHOOK_SECRET, LATE_ACK_MS: '3000' } });
  });
  after(async () => { await server.stop(); await receiver.stop(); });

  it('webhook must be a boolean; without it nothing is sent', async () => {
    for (const v of ['true', 1, null, {}]) {
      const r = await publish(server, { userId: 'wh-bad', webhook: v });
      assert.equal(r.status, 400);
      assert.deepEqual(r.json, { error: 'webhook must be a boolean' });
    }
    const before = receiver.posts.length;
    const r = await publish(server, { userId: 'wh-nobody-plain', type: 't' });
    assert.deepEqual(r.json, { clientCount: 0, results: [] });
    const f = await publish(server, { userId: 'wh-nobody-false', type: 't', webhook: false });
    assert.deepEqual(f.json, { clientCount: 0, results: [] });
    await sleep(400);
    assert.equal(receiver.posts.length, before, 'no event without "webhook": true');
  });

  it('unacked: a publish that reached nobody, signed; the answer is unchanged', async () => {
    const r = await publish(server, { userId: 'wh-nobody', type: 'call', payload: { n: 1 }, webhook: true });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { clientCount: 0, results: [] }, 'the answer has no devices without receipts');
    const e = await receiver.waitFor((x) => x.event === 'unacked' && x.envelope?.userId === 'wh-nobody');
    assert.deepEqual(Object.keys(e), ['id', 'event', 'envelope', 'clientCount', 'devices']);
    assert.match(e.id, UUID);
    assert.equal(e.clientCount, 0);
    assert.deepEqual(e.devices, []);
    assert.equal(e.envelope.type, 'call');
    assert.deepEqual(e.envelope.payload, { n: 1 });
    assert.match(e.envelope.envelopeId, UUID);
    const post = receiver.posts.find((p) => p.json?.id === e.id);
    assert.equal(post.headers['content-type'], 'application/json');
    assert.equal(post.url, '/hooks/hopeflow?from=e2e', 'the URL path and query as configured');
    assert.ok(signatureOk(post), `signature ${post.headers['hopeflow-signature']}`);
    assert.ok(!signatureOk(post, WEBHOOK_SECRET + 'x'), 'a wrong secret does not verify');
  });

  it('unacked carries the envelope exactly as sockets got it, and the receipts; a late ack follows', async () => {
    const phone = await connectDevice(server, 'wh-late', 'phone');
    await phone.subscribe([{ type: 'cmd' }]);
    const plain = await connect(server, 'wh-late');
    await plain.subscribe([{ type: 'cmd' }]);
    const r = await publish(server, { userId: 'wh-late', type: 'cmd', payload: { op: 'reboot' }, webhook: true, ackTimeoutMs: 200 });
    assert.equal(r.json.clientCount, 2);
    assert.deepEqual(r.json.results, []);
    const got = await phone.next();
    await plain.next();
    const e = await receiver.waitFor((x) => x.event === 'unacked' && x.envelope?.userId === 'wh-late');
    assert.deepEqual(e.envelope, JSON.parse(got));
    assert.equal(e.clientCount, 2);
    assert.deepEqual(e.devices.map((d) => [d.device, d.state]).sort(), [[null, 'pending'], ['phone', 'pending']].sort());
    // The phone finishes after the answer: a late_ack, once.
    const env = JSON.parse(got);
    phone.ack(env.envelopeId, { done: true });
    phone.ack(env.envelopeId, { again: true });
    const late = await receiver.waitFor((x) => x.event === 'late_ack' && x.envelopeId === env.envelopeId);
    assert.deepEqual(Object.keys(late), ['id', 'event', 'envelopeId', 'userId', 'device', 'result', 'ackMs']);
    assert.match(late.id, UUID);
    assert.notEqual(late.id, e.id);
    assert.equal(late.userId, 'wh-late');
    assert.equal(late.device, 'phone');
    assert.deepEqual(late.result, { done: true });
    // After the answer; in a cluster a node answers at its own deadline,
    // a few ms before the origin's, and the Redis hop is not counted.
    assert.ok(late.ackMs >= 150 && late.ackMs < 3000, `ackMs ${late.ackMs}`);
    // The socket without a device acks too: device null, result null when absent.
    plain.ack(env.envelopeId);
    const other = await receiver.waitFor((x) => x.event === 'late_ack' && x.envelopeId === env.envelopeId && x.device === null);
    assert.equal(other.result, null);
    await sleep(300);
    assert.equal(receiver.events.filter((x) => x.envelopeId === env.envelopeId).length, 2, 'one late_ack per target');
    await phone.close();
    await plain.close();
  });

  it('no unacked when a target acked; no late_ack from a stranger or after LATE_ACK_MS', async () => {
    const a = await connect(server, 'wh-acked');
    await a.subscribe([{ type: 'm' }]);
    const slow = await connect(server, 'wh-acked');
    await slow.subscribe([{ type: 'm' }]);
    a.autoAck(() => 'yes');
    const r = await publish(server, { userId: 'wh-acked', type: 'm', webhook: true, ackTimeoutMs: 300 });
    assert.deepEqual(r.json.results, ['yes']);
    const env = JSON.parse(await slow.next());
    // A socket of another user acking the id is no target.
    const stranger = await connect(server, 'wh-stranger');
    stranger.ack(env.envelopeId, 'not mine');
    await sleep(3200);  // LATE_ACK_MS (3 s) after the publish
    slow.ack(env.envelopeId, 'too late');
    await sleep(500);
    assert.equal(receiver.events.filter((x) => x.envelope?.userId === 'wh-acked' || x.userId === 'wh-acked' || x.userId === 'wh-stranger').length, 0);
    for (const c of [a, slow, stranger]) await c.close();
  });

  it('fire-and-forget (ackTimeoutMs 0): unacked at once, and acks after it are late acks', async () => {
    const s = await connect(server, 'wh-ff');
    await s.subscribe([{ type: 'm' }]);
    const r = await publish(server, { userId: 'wh-ff', type: 'm', webhook: true, ackTimeoutMs: 0 });
    assert.equal(r.json.clientCount, 1);
    const env = JSON.parse(await s.next());
    const e = await receiver.waitFor((x) => x.event === 'unacked' && x.envelope?.envelopeId === env.envelopeId);
    assert.deepEqual(e.devices, [{ device: null, state: 'pending' }]);
    s.ack(env.envelopeId, 7);
    const late = await receiver.waitFor((x) => x.event === 'late_ack' && x.envelopeId === env.envelopeId);
    assert.equal(late.result, 7);
    await s.close();
  });

  it('many users (section 15): one unacked per user that nobody acked, each with its own envelope', async () => {
    const s = await connect(server, 'wh-many-b');
    await s.subscribe([{ type: 'm' }]);
    s.autoAck(() => 'b');
    const r = await publish(server, { userIds: ['wh-many-a', 'wh-many-b', 'wh-many-c'], type: 'm', webhook: true, ackTimeoutMs: 500 });
    assert.equal(r.status, 200);
    assert.equal(r.json.users['wh-many-b'].clientCount, 1);
    for (const u of ['wh-many-a', 'wh-many-c']) {
      const e = await receiver.waitFor((x) => x.event === 'unacked' && x.envelope?.userId === u);
      assert.equal(e.envelope.envelopeId, r.json.users[u].envelopeId);
      assert.equal(e.clientCount, 0);
    }
    await sleep(300);
    assert.equal(receiver.events.filter((x) => x.envelope?.userId === 'wh-many-b').length, 0, 'b acked');
    await s.close();
  });

  it('/metrics counts the events', async () => {
    const text = await (await fetch(`${server.http}/metrics`)).text();
    const value = (name) => Number(new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text)?.[1]);
    assert.ok(value('hopeflow_webhook_events_total{event="unacked"}') >= 1 || CLUSTER);
    assert.ok(value('hopeflow_webhook_sent_total') >= 1);
    assert.equal(value('hopeflow_webhook_dropped_total{reason="queue_full"}'), 0);
    assert.ok(value('hopeflow_webhook_queue_depth') >= 0);
    assert.ok(Number.isFinite(value('hopeflow_webhook_oldest_event_age_seconds')));
  });
});

describe('14. webhooks: retries', () => {
  it('a receiver that answers 500, then hangs, then 200 gets the same id and body again', async () => {
    const receiver = await startReceiver({ answer: (p, i) => (i === 0 ? 500 : i === 1 ? 'hang' : 200) });
    const server = await startServer({ env: { WEBHOOK_URL: receiver.url, WEBHOOK_SECRET } });
    try {
      const started = Date.now();
      await publish(server, { userId: 'wh-retry', type: 'x', webhook: true });
      const e = await receiver.waitFor((x) => x.event === 'unacked', 15000);
      assert.equal(receiver.posts.length, 3);
      assert.deepEqual(new Set(receiver.posts.map((p) => p.body)).size, 1, 'the same body each time');
      assert.ok(receiver.posts.every((p) => signatureOk(p)));
      const [a, b, c] = receiver.posts.map((p) => p.at - started);
      assert.ok(b - a >= 900, `first retry after ~1 s (${b - a} ms)`);
      assert.ok(c - b >= 5000 + 1900, `a hung POST counts after 5 s, then ~2 s (${c - b} ms)`);
      assert.match(e.id, UUID);
      // The receiver records a POST before the server has read its 200:
      // the sent counter follows a moment later (long under a sanitizer).
      let text = '';
      for (const until = Date.now() + 10000; Date.now() < until; await sleep(50)) {
        text = await (await fetch(`${server.http}/metrics`)).text();
        if (/^hopeflow_webhook_sent_total 1$/m.test(text)) break;
      }
      assert.match(text, /^hopeflow_webhook_failures_total 2$/m);
      assert.match(text, /^hopeflow_webhook_retries_total 2$/m);
      assert.match(text, /^hopeflow_webhook_sent_total 1$/m);
    } finally {
      await server.stop();
      await receiver.stop();
    }
  });

  it('a receiver that is down for 10 s gets the events afterwards, each id at least once', async () => {
    const receiver = await startReceiver();
    const server = await startServer({ env: { WEBHOOK_URL: receiver.url, WEBHOOK_SECRET } });
    try {
      await receiver.stop();
      const users = ['wh-down-1', 'wh-down-2', 'wh-down-3'];
      for (const u of users) await publish(server, { userId: u, webhook: true });
      await sleep(10000);
      await receiver.start();
      for (const u of users) await receiver.waitFor((x) => x.envelope?.userId === u, 20000);
      assert.equal(new Set(receiver.events.map((e) => e.id)).size, 3);
    } finally {
      await server.stop();
      await receiver.stop();
    }
  });
});

describe('14. webhooks over https', () => {
  // A self-signed certificate for "localhost": trusted by the server only
  // when SSL_CERT_FILE (OpenSSL's system roots) names it.
  it('checks the certificate against the system roots and the URL host', async () => {
    const dir = mkdtempSync('/tmp/hf-wh-tls-');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost', '-keyout', `${dir}/key.pem`, '-out', `${dir}/cert.pem`], { stdio: 'ignore' });
    const got = [];
    const hook = https.createServer({ key: readFileSync(`${dir}/key.pem`), cert: readFileSync(`${dir}/cert.pem`) }, (req, res) => {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => { got.push({ headers: req.headers, body, json: JSON.parse(body) }); res.end('ok'); });
    }).listen(0, '127.0.0.1');
    await new Promise((r) => hook.once('listening', r));
    const port = hook.address().port;
    const run = async (url, env, user) => {
      const server = await startServer({ single: true, env: { WEBHOOK_URL: url, WEBHOOK_SECRET, ...env } });
      try {
        await publish(server, { userId: user, webhook: true });
        await sleep(1500);
        return (await (await fetch(`${server.http}/metrics`)).text());
      } finally {
        await server.stop();
      }
    };
    try {
      // Trusted, and the name matches: delivered, signed.
      await run(`https://localhost:${port}/h`, { SSL_CERT_FILE: `${dir}/cert.pem` }, 'tls-ok');
      const ok = got.find((g) => g.json.envelope?.userId === 'tls-ok');
      assert.ok(ok, 'delivered over https');
      assert.ok(signatureOk(ok));
      // Not among the roots: refused (the attempt fails, nothing arrives).
      const untrusted = await run(`https://localhost:${port}/h`, { SSL_CERT_FILE: '/nonexistent' }, 'tls-untrusted');
      assert.match(untrusted, /^hopeflow_webhook_failures_total [1-9]/m);
      // Trusted, but the URL names another host (127.0.0.1): refused.
      const wrongName = await run(`https://127.0.0.1:${port}/h`, { SSL_CERT_FILE: `${dir}/cert.pem` }, 'tls-wrong-name');
      assert.match(wrongName, /^hopeflow_webhook_failures_total [1-9]/m);
      assert.deepEqual(got.map((g) => g.json.envelope?.userId), ['tls-ok']);
    } finally {
      hook.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('14. webhooks: configuration', () => {
  it('"webhook": true without WEBHOOK_URL is a 400', async () => {
    const server = await startServer();
    try {
      const r = await publish(server, { userId: 'u', webhook: true });
      assert.equal(r.status, 400);
      assert.deepEqual(r.json, { error: 'webhook is not configured' });
      assert.deepEqual((await publish(server, { userId: 'u', webhook: 'x' })).json, { error: 'webhook must be a boolean' });
    } finally {
      await server.stop();
    }
  });

  it('the server refuses to start with one of WEBHOOK_URL and WEBHOOK_SECRET', async () => {
    const bin = process.env.HOPEFLOW_BIN;
    for (const env of [{ WEBHOOK_URL: 'http://127.0.0.1:9/x' }, { WEBHOOK_SECRET: 's'.repeat(40) }, { WEBHOOK_URL: 'ftp://x', WEBHOOK_SECRET: 's'.repeat(40) }]) {
      const p = spawn(bin, ['--check-config'], { env: { PATH: process.env.PATH, JWT_SECRET: SECRET, ENV_FILE: '', ...env } });
      let err = '';
      p.stderr.on('data', (d) => { err += d; });
      const code = await new Promise((r) => p.on('exit', r));
      assert.notEqual(code, 0, JSON.stringify(env));
      assert.match(err, /WEBHOOK_(URL|SECRET)/);
    }
  });
});
