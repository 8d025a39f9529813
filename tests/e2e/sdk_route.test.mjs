// docs/protocol.md appendix A: GET /sdk/realtime.js (SERVE_SDK=1) serves the
// JavaScript SDK, byte for byte clients/js/src/index.js, with CORS, to pages
// that import it without a bundler; GET / redirects to /console (CONSOLE=1).
// Both are 404, the contract's answer, when their setting is off.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { WebSocket, connect, publish, startServer, token } from './helpers.mjs';

const SDK_FILE = new URL('../../clients/js/src/index.js', import.meta.url);

// One request on its own connection, as written on the wire (HEAD's answer
// has headers only).
function raw(server, request) {
  return new Promise((resolve, reject) => {
    const s = net.connect(server.port, '127.0.0.1', () => s.end(request));
    let data = '';
    s.on('data', (d) => { data += d; });
    s.on('end', () => resolve(data));
    s.on('error', reject);
  });
}

describe('appendix A: GET /sdk/realtime.js and GET /', () => {
  let sdkOn;    // SERVE_SDK=1, CONSOLE off
  let plain;    // defaults
  let withConsole;  // CONSOLE=1, SERVE_SDK off
  before(async () => {
    [sdkOn, plain, withConsole] = await Promise.all([
      startServer({ single: true, env: { SERVE_SDK: '1' } }),
      startServer({ single: true }),
      startServer({ single: true, env: { CONSOLE: '1' } }),
    ]);
  });
  after(async () => {
    await Promise.all([sdkOn, plain, withConsole].filter(Boolean).map((s) => s.stop()));
  });

  it('serves clients/js/src/index.js byte for byte, as JavaScript, with CORS, with SERVE_SDK=1', async () => {
    const res = await fetch(`${sdkOn.http}/sdk/realtime.js`, { headers: { origin: 'https://app.example.com' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.equal(res.headers.get('cache-control'), 'public, max-age=300');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    const body = Buffer.from(await res.arrayBuffer());
    assert.ok(body.equals(readFileSync(SDK_FILE)), 'the body is clients/js/src/index.js, byte for byte');
    // The same bytes as the console's copy, from the same embedded asset.
    const viaQuery = await fetch(`${sdkOn.http}/sdk/realtime.js?v=0.1.0`);
    assert.ok(Buffer.from(await viaQuery.arrayBuffer()).equals(body));
  });

  it('HEAD: the GET answer without its body', async () => {
    const answer = await raw(sdkOn, 'HEAD /sdk/realtime.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const [head, rest] = answer.split('\r\n\r\n');
    assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(head, /\r\naccess-control-allow-origin: \*\r\n/);
    assert.match(head, /\r\ncontent-type: text\/javascript; charset=utf-8\r\n/);
    assert.match(head, new RegExp(`\\r\\ncontent-length: ${readFileSync(SDK_FILE).length}(\\r\\n|$)`));
    assert.equal(rest, '');
  });

  it('404 Not Found without SERVE_SDK=1, also with CONSOLE=1 (the settings are independent)', async () => {
    for (const server of [plain, withConsole]) {
      const res = await fetch(`${server.http}/sdk/realtime.js`);
      assert.equal(res.status, 404);
      assert.equal(await res.text(), 'Not Found');
      assert.equal(res.headers.get('access-control-allow-origin'), null);
      const head = await raw(server, 'HEAD /sdk/realtime.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      assert.match(head, /^HTTP\/1\.1 404 Not Found\r\n/);
      assert.ok(head.endsWith('\r\n\r\n'), 'no body after a HEAD answer');
    }
    // And SERVE_SDK=1 alone does not turn on the console.
    assert.equal((await fetch(`${sdkOn.http}/console`)).status, 404);
    assert.equal((await fetch(`${sdkOn.http}/`, { redirect: 'manual' })).status, 404);
  });

  it('the served module imports, and its connect() receives a publish', async () => {
    const text = await (await fetch(`${sdkOn.http}/sdk/realtime.js`)).text();
    const dir = mkdtempSync(join(tmpdir(), 'hopeflow-sdk-'));
    try {
      const file = join(dir, 'realtime.mjs');
      writeFileSync(file, text);
      const sdk = await import(pathToFileURL(file).href);
      assert.equal(typeof sdk.connect, 'function');
      assert.equal(typeof sdk.publish, 'function');
      const rt = sdk.connect({ url: sdkOn.ws, token: () => token('sdk-route-user'), WebSocket });
      try {
        const got = new Promise((resolve) => {
          rt.subscribe({ type: 'note' }, (env) => { resolve(env); return { seen: true }; });
        });
        await rt.ready({ signal: AbortSignal.timeout(5000) });
        const answer = await sdk.publish({ url: sdkOn.http, token: await token('backend'), userId: 'sdk-route-user', type: 'note', payload: { n: 1 } });
        assert.deepEqual(answer, { clientCount: 1, results: [{ seen: true }] });
        assert.deepEqual((await got).payload, { n: 1 });
      } finally {
        rt.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('GET / redirects to /console with CONSOLE=1 (302, location: /console); 404 without', async () => {
    const res = await fetch(`${withConsole.http}/`, { redirect: 'manual' });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/console');
    assert.equal(await res.text(), '');
    const followed = await fetch(`${withConsole.http}/`);
    assert.equal(followed.status, 200);
    assert.equal(followed.url, `${withConsole.http}/console`);
    assert.match(followed.headers.get('content-type'), /^text\/html/);
    // Without CONSOLE (and with SERVE_SDK alone), the original contract's 404.
    for (const server of [plain, sdkOn]) {
      const nf = await fetch(`${server.http}/`, { redirect: 'manual' });
      assert.equal(nf.status, 404);
      assert.equal(await nf.text(), 'Not Found');
    }
    // HEAD / stays 404; an upgrade on / still opens a socket.
    assert.match(await raw(withConsole, 'HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), /^HTTP\/1\.1 404 Not Found\r\n/);
    const c = await connect(withConsole, 'sdk-route-socket', { path: '/' });
    await c.barrier();
    await c.close();
    const p = await publish(withConsole, { userId: 'nobody' });
    assert.equal(p.status, 200);
  });
});
