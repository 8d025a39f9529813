// TLS at the proxy: Debian's nginx with packaging/nginx-site.conf and a
// self-signed certificate made here, in front of the server.
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

describe('behind nginx with TLS', { skip: !hasNginx && 'nginx not installed' }, () => {
  let server, nginx, port, dir;
  before(async () => {
    server = await startServer({ single: true });
    dir = mkdtempSync('/tmp/hf-nginx-');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-keyout', `${dir}/key.pem`, '-out', `${dir}/cert.pem`], { stdio: 'ignore' });
    port = await freePort();
    const site = readFileSync(new URL('../../packaging/nginx-site.conf', import.meta.url), 'utf8')
      .replace('UPSTREAM_ADDRESS', `127.0.0.1:${server.port}`)
      .replace('LISTEN_ADDRESS', `127.0.0.1:${port}`)
      .replace('CERT_FILE', `${dir}/cert.pem`)
      .replace('KEY_FILE', `${dir}/key.pem`);
    writeFileSync(`${dir}/site.conf`, site);
    mkdirSync(`${dir}/tmp`);
    writeFileSync(`${dir}/nginx.conf`, `daemon off; master_process off; worker_processes 1; pid ${dir}/nginx.pid; error_log stderr warn;
events { worker_connections 256; }
http {
  access_log off;
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
});
