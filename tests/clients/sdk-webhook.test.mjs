// The SDK's webhook side (docs/protocol.md section 14): publish({ webhook })
// passes the member through, and verifyWebhook checks the hopeflow-signature
// header. Unit cases sign with node:crypto (not the SDK's WebCrypto code);
// end to end, a server with WEBHOOK_URL POSTs real events to a node:http
// receiver, and verifyWebhook accepts them as Node's http server gives them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  BadRequestError, HopeflowError, WebhookVerificationError, connect, publish, verifyWebhook,
} from '../../clients/js/src/index.js';
import { WEBHOOK_SECRET, WebSocket, startReceiver, startServer, token } from '../e2e/helpers.mjs';

const SECRET = 'unit-webhook-secret-0123456789abcdef';
const BODY = '{"id":"0b5e7c1a-9d2f-4e6b-8a1c-3f4d5e6a7b8c","event":"late_ack","envelopeId":"e1","userId":"u1","device":"phone","result":{"done":true},"ackMs":7412}';
const NOW = 1_800_000_000;  // unix seconds of the unit cases
const at = (seconds) => ({ now: seconds * 1000 });

const mac = (secret, t, body) => createHmac('sha256', secret).update(`${t}.`).update(body).digest('hex');
const header = ({ secret = SECRET, t = NOW, body = BODY } = {}) => `t=${t},v1=${mac(secret, t, body)}`;

describe('verifyWebhook', () => {
  it('accepts a good signature and returns the event', async () => {
    const event = await verifyWebhook(SECRET, { 'hopeflow-signature': header() }, Buffer.from(BODY), at(NOW));
    assert.deepEqual(event, JSON.parse(BODY));
  });

  it('takes the body as a Buffer, Uint8Array, ArrayBuffer or string, and the secret as bytes', async () => {
    const bytes = new TextEncoder().encode(BODY);
    for (const raw of [BODY, bytes, bytes.buffer, Buffer.from(BODY)]) {
      assert.equal((await verifyWebhook(SECRET, { 'hopeflow-signature': header() }, raw, at(NOW))).ackMs, 7412);
    }
    const key = new TextEncoder().encode(SECRET);
    assert.equal((await verifyWebhook(key, { 'hopeflow-signature': header() }, BODY, at(NOW))).userId, 'u1');
    // A Buffer that is a slice of a larger pool (as Node's often are).
    const pooled = Buffer.from(`xx${BODY}yy`).subarray(2, 2 + Buffer.byteLength(BODY));
    assert.equal((await verifyWebhook(SECRET, { 'hopeflow-signature': header() }, pooled, at(NOW))).device, 'phone');
  });

  it('non-ASCII bodies are signed over their UTF-8 bytes', async () => {
    const body = '{"id":"x","event":"late_ack","result":"héllo ✓ 🎉"}';
    const event = await verifyWebhook(SECRET, { 'hopeflow-signature': header({ body }) }, Buffer.from(body), at(NOW));
    assert.equal(event.result, 'héllo ✓ 🎉');
  });

  it('headers: a lower-case object, any case, an array value, a Headers instance', async () => {
    const h = header();
    const forms = [
      { 'content-type': 'application/json', 'hopeflow-signature': h },
      { 'HopeFlow-Signature': h },
      { 'hopeflow-signature': [h] },
      new Headers({ 'Hopeflow-Signature': h, 'content-type': 'application/json' }),
    ];
    for (const headers of forms) assert.equal((await verifyWebhook(SECRET, headers, BODY, at(NOW))).event, 'late_ack');
  });

  it('any of several v1 signatures may match (a secret being rotated); other keys are ignored', async () => {
    const value = `t=${NOW}, v1=${mac('old-secret', NOW, BODY)}, v0=abc, v1=${mac(SECRET, NOW, BODY)}`;
    assert.equal((await verifyWebhook(SECRET, { 'hopeflow-signature': value }, BODY, at(NOW))).userId, 'u1');
  });

  it('rejects a wrong secret and a tampered body', async () => {
    await assert.rejects(verifyWebhook('another-secret', { 'hopeflow-signature': header() }, BODY, at(NOW)),
      (e) => e instanceof WebhookVerificationError && e instanceof HopeflowError && /does not match/.test(e.message));
    for (const tampered of [BODY.replace('"done":true', '"done":false'), `${BODY} `, BODY.slice(0, -1)]) {
      await assert.rejects(verifyWebhook(SECRET, { 'hopeflow-signature': header() }, tampered, at(NOW)),
        { name: 'WebhookVerificationError', message: /does not match/ });
    }
    // The signature of another t does not carry over.
    const moved = header().replace(`t=${NOW}`, `t=${NOW + 1}`);
    await assert.rejects(verifyWebhook(SECRET, { 'hopeflow-signature': moved }, BODY, at(NOW)), /does not match/);
    // Upper-case hex is not what the server sends.
    const upper = header().replace(/v1=(\w+)/, (_, h) => `v1=${h.toUpperCase()}`);
    await assert.rejects(verifyWebhook(SECRET, { 'hopeflow-signature': upper }, BODY, at(NOW)), /does not match/);
  });

  it('rejects a t outside the tolerance, either way; toleranceSeconds widens it', async () => {
    assert.ok(await verifyWebhook(SECRET, { 'hopeflow-signature': header({ t: NOW - 300 }) }, BODY, at(NOW)));
    assert.ok(await verifyWebhook(SECRET, { 'hopeflow-signature': header({ t: NOW + 300 }) }, BODY, at(NOW)));
    for (const t of [NOW - 301, NOW + 301, 0]) {
      await assert.rejects(verifyWebhook(SECRET, { 'hopeflow-signature': header({ t }) }, BODY, at(NOW)),
        { name: 'WebhookVerificationError', message: /tolerance/ });
    }
    const old = { 'hopeflow-signature': header({ t: NOW - 1000 }) };
    assert.ok(await verifyWebhook(SECRET, old, BODY, { ...at(NOW), toleranceSeconds: 1000 }));
    // Without `now`, the real clock: a header of now verifies, one of NOW does not.
    const t = Math.floor(Date.now() / 1000);
    assert.ok(await verifyWebhook(SECRET, { 'hopeflow-signature': header({ t }) }, BODY));
    await assert.rejects(verifyWebhook(SECRET, { 'hopeflow-signature': header() }, BODY), /tolerance/);
  });

  it('rejects a missing or malformed header', async () => {
    for (const headers of [{}, { 'x-signature': header() }, new Headers(), { 'hopeflow-signature': undefined }]) {
      await assert.rejects(verifyWebhook(SECRET, headers, BODY, at(NOW)), { name: 'WebhookVerificationError', message: /missing/ });
    }
    const good = mac(SECRET, NOW, BODY);
    for (const value of ['', 'garbage', `v1=${good}`, `t=${NOW}`, `t=abc,v1=${good}`, `t=${NOW},t=${NOW},v1=${good}`,
      `t=-${NOW},v1=${good}`, `t=${NOW};v1=${good}`, `t=1e9,v1=${good}`]) {
      await assert.rejects(verifyWebhook(SECRET, { 'hopeflow-signature': value }, BODY, at(NOW)),
        { name: 'WebhookVerificationError', message: /malformed/ }, value);
    }
  });

  it('rejects a body that is not a JSON object, once signed', async () => {
    for (const body of ['not json', '[1]', 'null', '"x"']) {
      await assert.rejects(verifyWebhook(SECRET, { 'hopeflow-signature': header({ body }) }, body, at(NOW)),
        { name: 'WebhookVerificationError', message: /body is not/ }, body);
    }
  });

  it('refuses arguments of the wrong kind with a TypeError that says what to pass', async () => {
    const h = { 'hopeflow-signature': header() };
    await assert.rejects(verifyWebhook(SECRET, h, JSON.parse(BODY), at(NOW)), { name: 'TypeError', message: /express\.raw/ });
    await assert.rejects(verifyWebhook(SECRET, h, {}, at(NOW)), TypeError);  // express.raw's body when nothing matched
    await assert.rejects(verifyWebhook('', h, BODY, at(NOW)), { name: 'TypeError', message: /WEBHOOK_SECRET/ });
    await assert.rejects(verifyWebhook(undefined, h, BODY, at(NOW)), TypeError);
    await assert.rejects(verifyWebhook(SECRET, undefined, BODY, at(NOW)), TypeError);
    await assert.rejects(verifyWebhook(SECRET, h, BODY, { now: 'soon' }), TypeError);
  });

  it('the types: WebhookEvent narrows by `event`; headers of several forms compile (tsc --strict)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hf-webhook-types-'));
    try {
      const sdk = new URL('../../clients/js/src/index.js', import.meta.url).pathname;
      writeFileSync(join(dir, 'check.ts'), `
import { publish, verifyWebhook, WebhookVerificationError, type WebhookEvent } from ${JSON.stringify(sdk)};
async function receive(headers: Record<string, string | string[] | undefined> | Headers, raw: Uint8Array): Promise<string> {
  await publish({ url: 'http://127.0.0.1:8787', token: 't', userId: 'u', type: 'call', webhook: true });
  try {
    const e: WebhookEvent<{ from: string }, { done: boolean }> = await verifyWebhook('s', headers, raw, { toleranceSeconds: 60 });
    if (e.event === 'unacked') return e.envelope.payload?.from ?? String(e.clientCount + e.devices.length);
    const done: boolean | undefined = e.result?.done;
    return \`\${e.id} \${e.envelopeId} \${e.userId} \${e.device ?? '-'} \${e.ackMs} \${done}\`;
  } catch (err) {
    if (err instanceof WebhookVerificationError) return err.message;
    throw err;
  }
}
void receive;
`);
      const tsc = new URL('./node_modules/typescript/bin/tsc', import.meta.url).pathname;
      const r = spawnSync(process.execPath, [tsc, '--strict', '--noEmit', '--target', 'es2022', '--module', 'nodenext',
        '--moduleResolution', 'nodenext', '--lib', 'es2022,dom', 'check.ts'], { cwd: dir, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stdout + r.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('publish({ webhook })', () => {
  it('sends `webhook` only when given, as given', async () => {
    const bodies = [];
    const fetch = async (_url, init) => {
      bodies.push(JSON.parse(init.body));
      return new Response('{"clientCount":0,"results":[]}', { status: 200 });
    };
    const base = { url: 'http://127.0.0.1:1', token: 't', userId: 'u', fetch };
    await publish({ ...base, webhook: true });
    await publish({ ...base, webhook: false });
    await publish(base);
    await publish({ ...base, userId: undefined, userIds: ['a', 'b'], webhook: true });
    assert.deepEqual(bodies.map((b) => b.webhook), [true, false, undefined, true]);
    assert.equal('webhook' in bodies[2], false);
  });
});

describe('end to end: real events from the server, verified by verifyWebhook', () => {
  let server, receiver, backend;
  before(async () => {
    receiver = await startReceiver();
    server = await startServer({ single: true, env: { WEBHOOK_URL: receiver.url, WEBHOOK_SECRET, LATE_ACK_MS: '5000' } });
    backend = await token('backend');
  });
  after(async () => { await server?.stop(); await receiver?.stop(); });

  // The POST that carried the event `pred` accepts.
  async function postOf(pred) {
    const e = await receiver.waitFor(pred);
    return receiver.posts.find((p) => p.json?.id === e.id);
  }

  it('unacked: a publish to a user with no socket', async () => {
    const answer = await publish({ url: server.http, token: backend, userId: 'sdk-wh-nobody', type: 'call', payload: { from: 'ann' }, webhook: true });
    assert.deepEqual(answer, { clientCount: 0, results: [] }, 'the answer is unchanged');
    const post = await postOf((x) => x.event === 'unacked' && x.envelope?.userId === 'sdk-wh-nobody');
    // As a receiver gets them: Node's IncomingHttpHeaders and the raw body.
    const event = await verifyWebhook(WEBHOOK_SECRET, post.headers, Buffer.from(post.body, 'utf8'));
    assert.deepEqual(event, post.json);
    assert.equal(event.event, 'unacked');
    assert.equal(event.clientCount, 0);
    assert.deepEqual(event.devices, []);
    assert.equal(event.envelope.type, 'call');
    assert.deepEqual(event.envelope.payload, { from: 'ann' });
    assert.equal(event.envelope.userId, 'sdk-wh-nobody');
    // A Headers instance, and the body as a string, verify too.
    assert.deepEqual(await verifyWebhook(WEBHOOK_SECRET, new Headers(post.headers), post.body), event);
    await assert.rejects(verifyWebhook(`${WEBHOOK_SECRET}x`, post.headers, post.body), WebhookVerificationError);
    await assert.rejects(verifyWebhook(WEBHOOK_SECRET, post.headers, post.body.replace('ann', 'bob')), /does not match/);
  });

  it('late_ack: the SDK\'s handler finishes after the answer', async () => {
    const rt = connect({ url: server.ws, token: await token('sdk-wh-slow'), device: 'phone', WebSocket });
    try {
      rt.subscribe({ type: 'job' }, async () => { await new Promise((r) => setTimeout(r, 500)); return { done: true }; });
      await rt.ready({ signal: AbortSignal.timeout(5000) });
      const answer = await publish({ url: server.http, token: backend, userId: 'sdk-wh-slow', type: 'job', ackTimeoutMs: 100, webhook: true });
      assert.equal(answer.clientCount, 1);
      assert.deepEqual(answer.results, []);
      const unacked = await postOf((x) => x.event === 'unacked' && x.envelope?.userId === 'sdk-wh-slow');
      const first = await verifyWebhook(WEBHOOK_SECRET, unacked.headers, unacked.body);
      assert.deepEqual(first.devices, [{ device: 'phone', state: 'pending' }]);
      const post = await postOf((x) => x.event === 'late_ack' && x.userId === 'sdk-wh-slow');
      const late = await verifyWebhook(WEBHOOK_SECRET, post.headers, Buffer.from(post.body));
      assert.equal(late.envelopeId, first.envelope.envelopeId);
      assert.equal(late.device, 'phone');
      assert.deepEqual(late.result, { done: true });
      assert.ok(late.ackMs >= 100 && late.ackMs < 5000, `ackMs ${late.ackMs}`);
    } finally {
      rt.close();
    }
  });

  it('the server\'s 400s reach the caller as BadRequestError', async () => {
    await assert.rejects(publish({ url: server.http, token: backend, userId: 'sdk-wh-bad', webhook: 'true' }),
      (e) => e instanceof BadRequestError && e.status === 400 && e.body.error === 'webhook must be a boolean');
    const plain = await startServer({ single: true });
    try {
      await assert.rejects(publish({ url: plain.http, token: await token('backend'), userId: 'sdk-wh-x', webhook: true }),
        (e) => e instanceof BadRequestError && e.body.error === 'webhook is not configured');
    } finally {
      await plain.stop();
    }
  });
});
