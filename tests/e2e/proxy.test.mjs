// TLS at the proxy: Debian's nginx with packaging/nginx-site.conf and a
// self-signed certificate made here, in front of the server. Also what the
// example promises an operator: no token in its access log, and /metrics
// only for loopback and private addresses.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { once } from 'node:events';
import WebSocket from 'ws';
import { Client, freePort, sleep, startServer, token } from './helpers.mjs';

const hasNginx = (() => { try { execFileSync('nginx', ['-v'], { stdio: 'ignore' }); return true; } catch { return false; } })();

const exampleAccessLog = '/var/log/nginx/hopeflow-access.log';

describe('behind nginx with TLS', { skip: !hasNginx && 'nginx not installed' }, () => {
  let server, nginx, port, dir;
  before(async () => {
    server = await startServer({ single: true });
    dir = mkdtempSync('/tmp/hf-nginx-');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-keyout', `${dir}/key.pem`, '-out', `${dir}/cert.pem`], { stdio: 'ignore' });
    port = await freePort();
    const example = readFileSync(new URL('../../packaging/nginx-site.conf', import.meta.url), 'utf8');
    assert.ok(example.includes(exampleAccessLog), 'the example names its access log');
    const site = example
      .replace(exampleAccessLog, `${dir}/access.log`)
      .replace('UPSTREAM_ADDRESS', `127.0.0.1:${server.port}`)
      .replace('LISTEN_ADDRESS', `127.0.0.1:${port}`)
      .replace('CERT_FILE', `${dir}/cert.pem`)
      .replace('KEY_FILE', `${dir}/key.pem`);
    writeFileSync(`${dir}/site.conf`, site);
    mkdirSync(`${dir}/tmp`);
    writeFileSync(`${dir}/nginx.conf`, `daemon off; master_process off; worker_processes 1; pid ${dir}/nginx.pid; error_log stderr warn;
events { worker_connections 256; }
http {
  client_body_temp_path ${dir}/tmp/body; proxy_temp_path ${dir}/tmp/proxy; fastcgi_temp_path ${dir}/tmp/fcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi; scgi_temp_path ${dir}/tmp/scgi;
  include ${dir}/site.conf;
}`);
    nginx = spawn('nginx', ['-p', dir, '-c', `${dir}/nginx.conf`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    nginx.stderr.on('data', (d) => { err += d; });
    for (let i = 0; i < 100; i++) {
      const ok = await new Promise((r) => { const s = net.connect(port, '127.0.0.1', () => { s.destroy(); r(true); }); s.on('error', () => r(false)); });
      if (ok) break;
      if (nginx.exitCode !== null) throw new Error(`nginx exited: ${err}`);
      await sleep(50);
    }
  });
  after(async () => {
    if (nginx && nginx.exitCode === null) { nginx.kill('SIGTERM'); await once(nginx, 'exit'); }
    await server.stop();
  });

  const publishTls = (body, tok) => new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = https.request({ host: '127.0.0.1', port, path: '/publish', method: 'POST', rejectUnauthorized: false,
      headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } }, (res) => {
      let t = '';
      res.on('data', (d) => { t += d; });
      res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(t) }));
    });
    req.on('error', reject);
    req.end(data);
  });

  it('carries wss:// sockets, the ping barrier, an https:// publish with its ack, and the close handshake', async () => {
    const ws = new WebSocket(`wss://127.0.0.1:${port}/`, { headers: { Authorization: `Bearer ${await token('tls-user')}` }, rejectUnauthorized: false });
    await once(ws, 'open');
    const c = new Client(ws);
    await c.subscribe([{ type: 'secure' }]);
    c.autoAck(() => 'over tls');
    const r = await publishTls({ userId: 'tls-user', type: 'secure', payload: { a: 1 } }, await token('backend'));
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { clientCount: 1, results: ['over tls'] });
    assert.equal((await c.close(1000)).code, 1000);
  });

  const getTls = (path, localAddress = '127.0.0.1') => new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path, localAddress, rejectUnauthorized: false }, (res) => {
      let t = '';
      res.on('data', (d) => { t += d; });
      res.on('end', () => resolve({ status: res.statusCode, text: t }));
    });
    req.on('error', reject);
    req.end();
  });

  it('/metrics answers loopback and private addresses only', async () => {
    const local = await getTls('/metrics');
    assert.equal(local.status, 200);
    assert.match(local.text, /^hopeflow_websockets \d+$/m);
    // 127.0.0.2 is this machine too, but not an allowed address: it stands
    // for the world.
    assert.equal((await getTls('/metrics', '127.0.0.2')).status, 403);
    assert.equal((await getTls('/metrics?x=1', '127.0.0.2')).status, 403);
    assert.equal((await getTls('//metrics', '127.0.0.2')).status, 403);
    assert.equal((await getTls('/healthz', '127.0.0.2')).status, 200);
  });

  it('writes no query string, so no ?token=, to the access log', async () => {
    const t = await token('logged-user');
    const ws = new WebSocket(`wss://127.0.0.1:${port}/?token=${encodeURIComponent(t)}`, { rejectUnauthorized: false });
    await once(ws, 'open');
    const c = new Client(ws);
    await c.barrier();
    assert.equal((await c.close(1000)).code, 1000);
    assert.equal((await getTls(`/nothing?token=${t}`)).status, 404);
    // nginx logs a request when it ends: the socket's line follows its close.
    let log = '';
    for (let i = 0; i < 100 && !/"GET \/ HTTP\/1\.1" 101/.test(log); i++) {
      await sleep(50);
      log = readFileSync(`${dir}/access.log`, 'utf8');
    }
    assert.match(log, /"GET \/ HTTP\/1\.1" 101/);
    assert.match(log, /"GET \/nothing HTTP\/1\.1" 404/);
    assert.ok(!log.includes('token='), log);
    assert.ok(!log.includes(t.split('.')[1]), 'no part of the token');
  });
});
