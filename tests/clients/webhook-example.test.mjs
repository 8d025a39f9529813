// The README's Express webhook receiver ("Webhooks"), run as written: the
// code block between <!-- webhook-example:start --> and
// <!-- webhook-example:end --> is copied to a file and started with node,
// with `express` and `@hopeflow/realtime` resolving as after `npm install`
// (symlinks to this folder's express and to clients/js). A real server whose
// WEBHOOK_URL points at it sends it events of publishes with
// "webhook": true; the example logs them, once each, and answers 200.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WEBHOOK_SECRET, connect, freePort, publish, sleep, startServer } from '../e2e/helpers.mjs';
import { until } from './helpers.mjs';

const README = new URL('../../README.md', import.meta.url);
const EXPRESS = new URL('./node_modules/express', import.meta.url).pathname;
const SDK = new URL('../../clients/js', import.meta.url).pathname;

// The fenced js block between the markers.
function webhookExample() {
  const text = readFileSync(README, 'utf8');
  const m = /<!-- webhook-example:start -->\n```js\n([\s\S]*?)\n```\n<!-- webhook-example:end -->/.exec(text);
  assert.ok(m, 'README.md has the webhook example between its markers');
  return m[1];
}

// A POST to the example signed as the server signs (section 14).
function signedPost(url, body, { secret = WEBHOOK_SECRET, t = Math.floor(Date.now() / 1000) } = {}) {
  const v1 = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'hopeflow-signature': `t=${t},v1=${v1}` }, body });
}

describe('the README webhook example', () => {
  let server, dir, app, url;
  let out = '';
  const lines = (re) => out.split('\n').filter((l) => re.test(l));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hf-webhook-example-'));
    writeFileSync(join(dir, 'webhook-receiver.mjs'), webhookExample());
    // `npm install express @hopeflow/realtime`
    mkdirSync(join(dir, 'node_modules', '@hopeflow'), { recursive: true });
    symlinkSync(EXPRESS, join(dir, 'node_modules', 'express'), 'dir');
    symlinkSync(SDK, join(dir, 'node_modules', '@hopeflow', 'realtime'), 'dir');
    const port = await freePort();
    app = spawn(process.execPath, ['webhook-receiver.mjs'], {
      cwd: dir, env: { PATH: process.env.PATH, WEBHOOK_SECRET, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the example did not start: ${out}`)), 10_000);
      const read = (d) => {
        out += d;
        if (out.includes('webhook receiver on')) { clearTimeout(timer); resolve(); }
      };
      app.stdout.on('data', read);
      app.stderr.on('data', read);
      app.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the example exited ${code}: ${out}`)); });
    });
    url = `http://127.0.0.1:${port}/hooks/hopeflow`;
    server = await startServer({ single: true, env: { WEBHOOK_URL: url, WEBHOOK_SECRET, LATE_ACK_MS: '5000' } });
  });

  after(async () => {
    await server?.stop();
    if (app && app.exitCode === null) {
      app.kill('SIGTERM');
      await once(app, 'exit');
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('logs the unacked event of a publish that reached nobody, and answers 200', async () => {
    const r = await publish(server, { userId: 'user_123', type: 'incoming_call', payload: { from: 'ann' }, webhook: true });
    assert.deepEqual(r.json, { clientCount: 0, results: [] });
    await until(() => lines(/^unacked incoming_call \S+ for user_123 \(0 sockets\)$/).length === 1, `the unacked line in: ${out}`);
    // The server counts it sent (a 2xx) and nothing failed.
    const metrics = await (await fetch(`${server.http}/metrics`)).text();
    assert.match(metrics, /^hopeflow_webhook_sent_total 1$/m);
    assert.match(metrics, /^hopeflow_webhook_failures_total 0$/m);
  });

  it('logs a late ack with its device and result', async () => {
    const c = await connect(server, 'user_late');
    await c.subscribe([{ type: 'job' }]);
    const r = await publish(server, { userId: 'user_late', type: 'job', webhook: true, ackTimeoutMs: 100 });
    assert.equal(r.json.clientCount, 1);
    const env = JSON.parse(await c.next());
    c.ack(env.envelopeId, { done: true });
    const re = new RegExp(`^late_ack ${env.envelopeId} from user_late/- after \\d+ ms: \\{"done":true\\}$`);
    await until(() => lines(re).length === 1, `the late_ack line in: ${out}`);
    await c.close();
  });

  it('refuses a bad signature with 400; a retried id is answered 200 and handled once', async () => {
    const body = JSON.stringify({ id: 'retried-id-1', event: 'unacked', envelope: { envelopeId: 'e-retry', type: 'note', userId: 'u-retry', timestamp: '2026-01-01T00:00:00.000Z' }, clientCount: 0, devices: [] });
    const bad = await signedPost(url, body, { secret: 'not-the-secret' });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /does not match/);
    const old = await signedPost(url, body, { t: Math.floor(Date.now() / 1000) - 3600 });
    assert.equal(old.status, 400);
    for (let i = 0; i < 3; i++) assert.equal((await signedPost(url, body)).status, 200);
    await sleep(200);
    assert.equal(lines(/^unacked note e-retry for u-retry/).length, 1, out);
  });
});
