// The README's Node token endpoint ("A token endpoint for the SDK"), run as
// written: the code block between <!-- backend-example:start --> and
// <!-- backend-example:end --> is copied to a file and started with node,
// with the real server's JWT_SECRET; then the SDK connects with the tokens it
// mints (its `token` function calls the endpoint, as a page would) and
// receives a publish sent with a publisher token.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, publish } from '../../clients/js/src/index.js';
import { SECRET, WebSocket, freePort, startServer, token } from '../e2e/helpers.mjs';

const README = new URL('../../README.md', import.meta.url);
const E2E_MODULES = new URL('../e2e/node_modules', import.meta.url).pathname;  // jose
const PUBLISH_SECRET = 'backend-example-publisher-secret-32-bytes!';

// The fenced js block between the markers.
function backendExample() {
  const text = readFileSync(README, 'utf8');
  const m = /<!-- backend-example:start -->\n```js\n([\s\S]*?)\n```\n<!-- backend-example:end -->/.exec(text);
  assert.ok(m, 'README.md has the backend example between its markers');
  return m[1];
}

describe('the README backend example', () => {
  let server, dir, app, endpoint;

  before(async () => {
    server = await startServer({ single: true, env: { PUBLISH_SECRET } });
    dir = mkdtempSync(join(tmpdir(), 'hf-backend-example-'));
    writeFileSync(join(dir, 'token-server.mjs'), backendExample());
    symlinkSync(E2E_MODULES, join(dir, 'node_modules'), 'dir');  // `npm install jose`
    const port = await freePort();
    app = spawn(process.execPath, ['token-server.mjs'], {
      cwd: dir, env: { PATH: process.env.PATH, JWT_SECRET: SECRET, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the example did not start: ${out}`)), 10_000);
      const read = (d) => {
        out += d;
        if (out.includes('token endpoint on')) { clearTimeout(timer); resolve(); }
      };
      app.stdout.on('data', read);
      app.stderr.on('data', read);
      app.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the example exited ${code}: ${out}`)); });
    });
    endpoint = `http://127.0.0.1:${port}/api/realtime-token`;
  });

  after(async () => {
    if (app && app.exitCode === null) {
      app.kill('SIGTERM');
      await once(app, 'exit');
    }
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('answers a token for the session user, 401 without a session, 404 elsewhere', async () => {
    const res = await fetch(endpoint, { headers: { cookie: 'theme=dark; session=dev-session' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const jwt = await res.text();
    const [header, payload] = jwt.split('.').slice(0, 2).map((p) => JSON.parse(Buffer.from(p, 'base64url')));
    assert.deepEqual(header, { alg: 'HS256', typ: 'JWT' });
    assert.equal(payload.userId, 'user_123');
    assert.ok(payload.exp > Date.now() / 1000 + 600, 'valid for about 15 minutes');
    assert.equal((await fetch(endpoint)).status, 401);
    assert.equal((await fetch(endpoint, { headers: { cookie: 'session=someone-else' } })).status, 401);
    assert.equal((await fetch(endpoint.replace('/api/realtime-token', '/other'))).status, 404);
    assert.equal((await fetch(endpoint, { method: 'POST' })).status, 404);
  });

  it('the SDK connects with its tokens and receives a publish', async () => {
    let asked = 0;
    const rt = connect({
      url: server.ws,
      token: () => { asked += 1; return fetch(endpoint, { headers: { cookie: 'session=dev-session' } }).then((r) => r.text()); },
      WebSocket,
    });
    try {
      const got = new Promise((resolve) => {
        rt.subscribe({ type: 'chat_message' }, (env) => { resolve(env); return { status: 'read' }; });
      });
      await rt.ready({ signal: AbortSignal.timeout(5000) });
      assert.ok(asked >= 1, 'the token came from the endpoint');
      const publisherToken = await token(undefined, { secret: PUBLISH_SECRET });  // what HOPEFLOW_PUBLISHER_TOKEN holds
      const answer = await publish({ url: server.http, token: publisherToken, userId: 'user_123', type: 'chat_message', payload: { text: 'hello' } });
      assert.deepEqual(answer, { clientCount: 1, results: [{ status: 'read' }] });
      const env = await got;
      assert.equal(env.userId, 'user_123');
      assert.deepEqual(env.payload, { text: 'hello' });
    } finally {
      rt.close();
    }
  });
});
