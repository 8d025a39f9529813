// docs/protocol.md sections 1 and 9, the hardening of the review: JWKS_URL
// fetches (Host with its port, IPv6 literals, no credentials, retries with
// backoff, a kid of an alg the node has no key of yet), JWT_ISSUER and
// JWT_AUDIENCE, and canonical base64url. Keys and tokens are made by npm
// `jose`; the JWKS is served by the test on loopback.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { Client, publish, refusedUpgrade, sleep, startServer, token, WebSocket } from './helpers.mjs';

const BIN = process.env.HOPEFLOW_BIN ?? new URL('../../build/hopeflow-realtime', import.meta.url).pathname;

// A JWKS endpoint: `keys` is what it serves, `status` its answer (200 serves
// the keys); it records each request's time and Host header.
async function jwksServer(host = '127.0.0.1') {
  const s = { keys: [], status: 200, hosts: [], times: [] };
  s.server = http.createServer((req, res) => {
    s.hosts.push(req.headers.host);
    s.times.push(performance.now());
    if (s.status !== 200) { res.writeHead(s.status); return res.end('unavailable'); }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: s.keys }));
  });
  s.server.listen(0, host);
  await once(s.server, 'listening');
  s.port = s.server.address().port;
  s.url = `http://${host.includes(':') ? `[${host}]` : host}:${s.port}/.well-known/jwks.json`;
  s.close = () => { s.server.closeAllConnections(); s.server.close(); };
  return s;
}

async function keyPair(alg, kid) {
  const { publicKey, privateKey } = await generateKeyPair(alg);
  return { alg, kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}
function idToken(key, claims, { kid = key.kid, typ = 'JWT' } = {}) {
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid, typ }).setIssuedAt().setExpirationTime('1h').sign(key.privateKey);
}
async function openWith(server, tok) {
  const ws = new WebSocket(`${server.ws}/`, { headers: { Authorization: `Bearer ${tok}` } });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
    ws.once('unexpected-response', (req, res) => reject(new Error(`upgrade answered ${res.statusCode}`)));
  });
  return new Client(ws);
}
const upgradeStatus = async (server, tok) => (await refusedUpgrade(server, { headers: { Authorization: `Bearer ${tok}` } })).status;
const metric = async (server, name) => Number(new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\d+)`, 'm').exec(await (await fetch(`${server.http}/metrics`)).text())?.[1] ?? NaN);
async function eventually(what, f, ms = 8000) {
  const until = performance.now() + ms;
  for (;;) {
    const v = await f().catch(() => null);
    if (v) return v;
    if (performance.now() > until) assert.fail(`${what}: not within ${ms} ms`);
    await sleep(100);
  }
}

describe('9. JWKS_URL fetches', () => {
  it('sends Host with the port when the URL has a non-default one', async () => {
    const idp = await jwksServer();
    idp.keys = [(await keyPair('RS256', 'r1')).jwk];
    const s = await startServer({ single: true, env: { JWKS_URL: idp.url } });
    assert.equal(await metric(s, 'hopeflow_jwks_fetches_total{outcome="ok"}'), 1);
    assert.deepEqual(idp.hosts, [`127.0.0.1:${idp.port}`]);
    assert.equal(await s.stop(), 0);
    idp.close();
  });

  it('fetches from an IPv6 literal (http://[::1]:port/) with Host [::1]:port', async (t) => {
    const idp = await jwksServer('::1').catch(() => null);
    if (!idp) return t.skip('no IPv6 loopback here');
    const key = await keyPair('ES256', 'e6');
    idp.keys = [key.jwk];
    const s = await startServer({ single: true, env: { JWKS_URL: idp.url, USER_CLAIM: 'sub' } });
    assert.equal(await metric(s, 'hopeflow_jwks_fetches_total{outcome="ok"}'), 1, s.log());
    assert.deepEqual(idp.hosts, [`[::1]:${idp.port}`]);
    const c = await openWith(s, await idToken(key, { sub: 'v6' }));
    await c.close();
    assert.equal(await s.stop(), 0);
    idp.close();
  });

  it('refuses a JWKS_URL with user:password@ at start, without printing the password', () => {
    const r = spawnSync(BIN, [], { env: { PATH: process.env.PATH, PORT: '0', ENV_FILE: '', JWKS_URL: 'https://alice:hunter2-s3cr3t@127.0.0.1:9/jwks' }, timeout: 10000 });
    assert.equal(r.status, 2, 'a configuration error');
    const out = r.stderr.toString() + r.stdout.toString();
    assert.match(out, /JWKS_URL: must not carry credentials/);
    assert.doesNotMatch(out, /hunter2-s3cr3t/);
  });

  it('retries a failed fetch after 1 s, 2 s, 4 s ... instead of JWKS_REFRESH_MS, and keys then work', async () => {
    const idp = await jwksServer();
    const key = await keyPair('RS256', 'late-1');
    idp.keys = [key.jwk];
    idp.status = 503;  // the provider is down at start
    const s = await startServer({ single: true, env: { JWKS_URL: idp.url, USER_CLAIM: 'sub' } });  // JWT_SECRET set by the helper
    await eventually('three failed fetches', async () => idp.times.length >= 3, 8000);
    const gaps = idp.times.slice(1).map((t, i) => t - idp.times[i]);
    // 1 s then 2 s (JWKS_REFRESH_MS is 5 min); slack for sanitizer builds.
    assert.ok(gaps[0] > 800 && gaps[0] < 2500, `first retry after ${gaps[0].toFixed(0)} ms`);
    assert.ok(gaps[1] > 1800 && gaps[1] < 3500, `second retry after ${gaps[1].toFixed(0)} ms`);
    idp.status = 200;  // back up: the next retry (4 s later) brings the keys
    await eventually('the keys after the provider is back', async () => (await metric(s, 'hopeflow_jwks_fetches_total{outcome="ok"}')) === 1, 6000);
    const c = await openWith(s, await idToken(key, { sub: 'patient' }, { kid: undefined }));  // no kid: no refetch of its own
    await c.close();
    // Success resets the backoff: the next fetch is JWKS_REFRESH_MS (5 min) away.
    const n = idp.times.length;
    await sleep(2500);
    assert.equal(idp.times.length, n, 'no fetch soon after a successful one');
    assert.equal(await metric(s, 'hopeflow_jwks_fetches_total{outcome="bad_status"}'), 3);
    assert.equal(await s.stop(), 0);
    idp.close();
  });

  it('a provider moving from RS256 to ES256: a new kid of an alg with no key yet prompts a fetch', async () => {
    const idp = await jwksServer();
    const rsa = await keyPair('RS256', 'rsa-1');
    idp.keys = [rsa.jwk];
    const s = await startServer({ single: true, env: { JWT_SECRET: '', JWKS_URL: idp.url, USER_CLAIM: 'sub' } });
    const ec = await keyPair('ES256', 'ec-1');
    idp.keys = [ec.jwk];  // the provider switches algorithms
    const tok = await idToken(ec, { sub: 'switcher' });
    assert.equal(await upgradeStatus(s, tok), 401, 'unknown at first');
    const c = await eventually('the ES256 key is fetched', () => openWith(s, tok));
    await c.close();
    assert.equal(idp.hosts.length, 2);
    assert.ok(await metric(s, 'hopeflow_auth_failures_total{reason="unknown_kid"}') >= 1);
    assert.equal(await s.stop(), 0);
    idp.close();
  });
});

describe('9. JWT_ISSUER and JWT_AUDIENCE', () => {
  const ISS = 'https://idp.example/';
  const AUD = 'hopeflow-realtime';
  const PUBLISH_SECRET = 'publisher-secret-that-is-long-enough-!!';
  let idp, key, server;
  before(async () => {
    idp = await jwksServer();
    key = await keyPair('ES256', 'ec-iss');
    idp.keys = [key.jwk];
    server = await startServer({ single: true, env: { JWKS_URL: idp.url, JWT_ISSUER: ISS, JWT_AUDIENCE: AUD, PUBLISH_SECRET } });
  });
  after(async () => { await server.stop(); idp.close(); });

  it('accepts end-user tokens naming both, for every kind of end-user token', async () => {
    const a = await openWith(server, await idToken(key, { userId: 'ivy', iss: ISS, aud: AUD }));
    const b = await openWith(server, await idToken(key, { userId: 'ivy', iss: ISS, aud: ['other-app', AUD] }));
    const c = await openWith(server, await token('ivy', { claims: { iss: ISS, aud: AUD } }));  // HS256, JWT_SECRET
    await a.close(); await b.close(); await c.close();
  });

  it('refuses tokens without them or naming others: 401 at the upgrade and the publish, invalid_token for a refresh', async () => {
    const before = await metric(server, 'hopeflow_auth_failures_total{reason="bad_claim"}');
    const bad = [
      await idToken(key, { userId: 'ivy' }),
      await idToken(key, { userId: 'ivy', iss: ISS }),
      await idToken(key, { userId: 'ivy', aud: AUD }),
      await idToken(key, { userId: 'ivy', iss: 'https://other.example/', aud: AUD }),
      await idToken(key, { userId: 'ivy', iss: ISS, aud: ['other-app'] }),
      await token('ivy'),  // HS256 tokens too
      await token('ivy', { claims: { iss: ISS, aud: 'other-app' } }),
    ];
    for (const tok of bad) assert.equal(await upgradeStatus(server, tok), 401, tok);
    assert.equal(await metric(server, 'hopeflow_auth_failures_total{reason="bad_claim"}'), before + bad.length);
    // Publish: with PUBLISH_SECRET an end-user token would get 403 if valid;
    // one without the claims is not valid, so 401.
    assert.equal((await publish(server, { userId: 'ivy' }, { tok: bad[0] })).status, 401);
    // Refresh on an open socket.
    const c = await openWith(server, await idToken(key, { userId: 'ivy', iss: ISS, aud: AUD }));
    c.send({ type: 'refresh', token: bad[4] });
    assert.deepEqual(await c.nextJson(), { type: 'refresh_failed', reason: 'invalid_token' });
    c.send({ type: 'refresh', token: await idToken(key, { userId: 'ivy', iss: ISS, aud: [AUD] }) });
    assert.equal((await c.nextJson()).type, 'refreshed');
    await c.close();
  });

  it('publisher tokens (PUBLISH_SECRET) need neither', async () => {
    const pub = await token(undefined, { secret: PUBLISH_SECRET });
    const r = await publish(server, { userId: 'nobody', type: 't' }, { tok: pub });
    assert.equal(r.status, 200, r.text);
  });
});

describe('1. canonical base64url', () => {
  let server;
  before(async () => { server = await startServer({ single: true }); });
  after(async () => { await server.stop(); });

  it('jose tokens pass; the same token with the unused bits of a segment set is refused', async () => {
    const tok = await token('quinn');
    const c = await openWith(server, tok);
    await c.close();
    // HS256: 32 bytes of signature, 43 characters, the last carrying 2 unused bits.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const v = alphabet.indexOf(tok.at(-1));
    assert.equal(v % 4, 0);
    const altered = tok.slice(0, -1) + alphabet[v | 1];
    assert.deepEqual(Buffer.from(altered.split('.')[2], 'base64url'), Buffer.from(tok.split('.')[2], 'base64url'), 'same bytes');
    assert.equal(await upgradeStatus(server, altered), 401);
    assert.equal((await publish(server, { userId: 'quinn' }, { tok: altered })).status, 401);
  });
});
