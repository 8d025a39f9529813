// Native TLS: https and wss on the server's own port, with a self-signed
// certificate made here; the WebSocket still moves to the user's shard.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import https from 'node:https';

import { once } from 'node:events';
import WebSocket from 'ws';
import { Client, sleep, startServer, token } from './helpers.mjs';

const fds = (pid) => readdirSync(`/proc/${pid}/fd`).length;


function request(port, method, path, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path, method, rejectUnauthorized: false, headers }, (res) => {
      let t = '';
      res.on('data', (d) => { t += d; });
      res.on('end', () => resolve({ status: res.statusCode, text: t }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('native TLS', () => {
  let server, dir;
  before(async () => {
    dir = mkdtempSync('/tmp/hf-tls-');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-keyout', `${dir}/key.pem`, '-out', `${dir}/cert.pem`], { stdio: 'ignore' });
    server = await startServer({ single: true, env: { TLS_CERT_FILE: `${dir}/cert.pem`, TLS_KEY_FILE: `${dir}/key.pem` } });
  });
  after(async () => { await server.stop(); });

  it('serves wss sockets and https publishes with acks, for users on every shard', async () => {
    const users = ['tls-a', 'tls-b', 'tls-c', 'tls-d', 'tls-e', 'tls-f'];
    const clients = [];
    for (const u of users) {
      const ws = new WebSocket(`wss://127.0.0.1:${server.port}/`, { headers: { Authorization: `Bearer ${await token(u)}` }, rejectUnauthorized: false });
      await once(ws, 'open');
      const c = new Client(ws);
      await c.subscribe([{ type: 's' }]);
      c.autoAck(() => u);
      clients.push(c);
    }
    const tok = await token('backend');
    for (const u of users) {
      const body = JSON.stringify({ userId: u, type: 's' });
      const r = await request(server.port, 'POST', '/publish', body, { authorization: `Bearer ${tok}`, 'content-type': 'application/json', 'content-length': body.length });
      assert.equal(r.status, 200);
      assert.deepEqual(JSON.parse(r.text), { clientCount: 1, results: [u] });
    }
    assert.equal((await request(server.port, 'GET', '/healthz')).status, 200);
    for (const c of clients) assert.equal((await c.close(1000)).code, 1000);
  });

  it('holds no descriptor of a TLS connection once it ends, however the client goes', async () => {
    // A fresh server with a short request timeout, so idle connections end soon.
    const quick = await startServer({ single: true, env: { TLS_CERT_FILE: `${dir}/cert.pem`, TLS_KEY_FILE: `${dir}/key.pem`, REQUEST_TIMEOUT_MS: '400' } });
    const pid = quick.proc.pid;
    const base = fds(pid);
    // Python's ssl module processes incoming records only when asked to: its
    // clients never answer the server's close_notify and keep their TCP
    // connections open until killed (as a client that stopped reading does).
    // Half of them send one request first (an idle keep-alive connection),
    // half send nothing after the handshake.
    const py = `
import socket, ssl, sys, time
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
held = []
for i in range(20):
    s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', ${quick.port})))
    if i % 2:
        s.sendall(b'GET /healthz HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')
        s.recv(4096)
    held.append(s)
print('ready', flush=True)
time.sleep(60)`;
    const holder = spawn('/usr/bin/python3', ['-c', py], { stdio: ['ignore', 'pipe', 'inherit'] });
    await once(holder.stdout, 'data');
    assert.ok(fds(pid) >= base + 20, 'the connections hold descriptors while open');
    // The request timeout passes and the server closes its side; the
    // close_notify exchange is bounded (1 s), so the server lets go although
    // the clients still hold their connections.
    let now = fds(pid);
    for (let i = 0; i < 50 && now > base; i++) { await sleep(100); now = fds(pid); }
    holder.kill('SIGKILL');
    assert.equal(now, base, 'every TLS front and socketpair end is closed while the clients still hold on');
    assert.equal((await request(quick.port, 'GET', '/healthz')).status, 200);
    assert.equal(await quick.stop(), 0);
  });

  it('refuses plain HTTP on a TLS port without harm; bad TLS settings stop the start with a clear error', async () => {
    const plain = await fetch(`http://127.0.0.1:${server.port}/healthz`).then((r) => r.status, () => 'refused');
    assert.notEqual(plain, 200);
    assert.equal((await request(server.port, 'GET', '/healthz')).status, 200, 'still serving TLS');
    const bin = process.env.HOPEFLOW_BIN ?? new URL('../../build/hopeflow-realtime', import.meta.url).pathname;
    const env = { PATH: process.env.PATH, JWT_SECRET: 'x'.repeat(32), ENV_FILE: '', PORT: '0' };
    const half = spawnSync(bin, ['--check-config', '--tls-cert-file', `${dir}/cert.pem`], { env });
    assert.equal(half.status, 2);
    assert.match(half.stderr.toString(), /TLS needs both TLS_CERT_FILE and TLS_KEY_FILE/);
    const wrong = spawnSync(bin, ['--tls-cert-file', `${dir}/missing.pem`, '--tls-key-file', `${dir}/key.pem`], { env, timeout: 5000 });
    assert.equal(wrong.status, 1);
    assert.match(wrong.stderr.toString(), /TLS_CERT_FILE '.*missing\.pem'/);
  });
});
