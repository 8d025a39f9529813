// docs/protocol.md sections 8-10: RS256/ES256 tokens from an identity provider's
// JWKS (served here on loopback, keys and tokens made by npm `jose`),
// refresh and expiry on open sockets, and restricting who may publish.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Client, connect, expAhead, publish, refusedUpgrade, SANITIZED, SECRET, sleep, startServer, token, WebSocket } from './helpers.mjs';

// A JWKS endpoint under the test's control: `keys` is what it serves,
// `mode` how (ok, hang, garbage, huge, redirect); it counts requests.
async function jwksServer() {
  const s = { keys: [], mode: 'ok', requests: 0 };
  s.server = http.createServer((req, res) => {
    s.requests++;
    if (s.mode === 'hang') return;  // never answers
    if (s.mode === 'garbage') return res.end('<html>not json</html>');
    if (s.mode === 'huge') return res.end(JSON.stringify({ keys: [], pad: 'x'.repeat(10 << 20) }));
    if (s.mode === 'redirect') { res.writeHead(302, { location: '/elsewhere' }); return res.end(); }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: s.keys }));
  });
  s.server.listen(0, '127.0.0.1');
  await once(s.server, 'listening');
  s.url = `http://127.0.0.1:${s.server.address().port}/.well-known/jwks.json`;
  s.close = () => { s.server.closeAllConnections(); s.server.close(); };
  return s;
}

async function keyPair(alg, kid) {
  const { publicKey, privateKey } = await generateKeyPair(alg);
  return { alg, kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}
function idToken(key, claims, { expiresIn = '1h', typ = 'JWT', kid = key.kid } = {}) {
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid, typ }).setIssuedAt().setExpirationTime(expiresIn).sign(key.privateKey);
}
async function openWith(server, tok) {
  const ws = new WebSocket(`${server.ws}/`, { headers: { Authorization: `Bearer ${tok}` } });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('unexpected-response', (req, res) => reject(new Error(`upgrade answered ${res.statusCode}`)));
  });
  return new Client(ws);
}
const metric = async (server, name) => Number(new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\d+)`, 'm').exec(await (await fetch(`${server.http}/metrics`)).text())?.[1] ?? NaN);

describe('9. keys from an identity provider', () => {
  let idp, rsa, ec, server;
  before(async () => {
    idp = await jwksServer();
    rsa = await keyPair('RS256', 'rsa-1');
    ec = await keyPair('ES256', 'ec-1');
    idp.keys = [rsa.jwk, ec.jwk];
    // No JWT_SECRET: the identity provider's keys only; users named in `sub`.
    server = await startServer({ single: true, env: { JWT_SECRET: '', JWKS_URL: idp.url, USER_CLAIM: 'sub' } });
  });
  after(async () => { await server.stop(); idp.close(); });

  it('accepts RS256 and ES256 tokens (JWT and at+jwt) naming the user in sub, for sockets and publishes', async () => {
    const a = await openWith(server, await idToken(rsa, { sub: 'alice' }));
    const b = await openWith(server, await idToken(ec, { sub: 'alice' }, { typ: 'at+jwt' }));
    for (const c of [a, b]) { await c.subscribe([{ type: 't' }]); c.autoAck(() => 'seen'); }
    const r = await publish(server, { userId: 'alice', type: 't' }, { tok: await idToken(ec, { sub: 'backend' }) });
    assert.deepEqual(r.json, { clientCount: 2, results: ['seen', 'seen'] });
    // HS256 is refused without JWT_SECRET; so is a token whose user is not in sub.
    assert.equal((await refusedUpgrade(server, { headers: { Authorization: `Bearer ${await token('alice')}` } })).status, 401);
    assert.equal((await refusedUpgrade(server, { headers: { Authorization: `Bearer ${await idToken(rsa, { userId: 'alice' })}` } })).status, 401);
    await a.close(); await b.close();
  });

  it('follows a key rotation: a new kid makes it fetch again, and a removed key stops working', async () => {
    const before = idp.requests;
    const next = await keyPair('RS256', 'rsa-2');
    const oldTok = await idToken(rsa, { sub: 'bob' });
    const c = await openWith(server, oldTok);  // cached from now on
    await c.close();
    idp.keys = [next.jwk, ec.jwk];  // the provider rotates rsa-1 out
    const newTok = await idToken(next, { sub: 'bob' });
    const first = await refusedUpgrade(server, { headers: { Authorization: `Bearer ${newTok}` } });
    assert.equal(first.status, 401, 'unknown kid at first');
    let opened = null;
    for (let i = 0; i < 50 && !opened; i++) { await sleep(100); opened = await openWith(server, newTok).catch(() => null); }
    assert.ok(opened, 'the new key is fetched and then accepted');
    assert.ok(idp.requests > before);
    await opened.close();
    assert.equal((await refusedUpgrade(server, { headers: { Authorization: `Bearer ${oldTok}` } })).status, 401, 'no cached verification outlives its key');
  });

  it('a flood of tokens with made-up kids fetches at most once per 10 s', async () => {
    await sleep(200);
    const before = idp.requests;
    const forged = await keyPair('RS256', 'whatever');
    await Promise.all(Array.from({ length: 150 }, async (_, i) => {
      const tok = await idToken(forged, { sub: 'mallory' }, { kid: `random-${i}` });
      return publish(server, { userId: 'x' }, { tok });
    }));
    assert.ok(idp.requests - before <= 1, `${idp.requests - before} fetches for 150 unknown kids`);
    assert.ok(await metric(server, 'hopeflow_auth_failures_total{reason="unknown_kid"}') >= 150);
  });
});

describe('9. keys from files', () => {
  it('JWT_PUBLIC_KEY_FILE (PEM) and JWKS_FILE; an unusable file stops the start with one line', async () => {
    const dir = mkdtempSync('/tmp/hf-keys-');
    const pem = await keyPair('ES256', undefined);
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    writeFileSync(`${dir}/key.pem`, await exportSPKI(publicKey));
    const listed = await keyPair('RS256', 'file-1');
    writeFileSync(`${dir}/jwks.json`, JSON.stringify({ keys: [listed.jwk] }));
    const s = await startServer({ single: true, env: { JWT_PUBLIC_KEY_FILE: `${dir}/key.pem`, JWKS_FILE: `${dir}/jwks.json` } });
    const a = await openWith(s, await new SignJWT({ userId: 'gina' }).setProtectedHeader({ alg: 'ES256', typ: 'JWT' }).setExpirationTime('1h').sign(privateKey));
    const b = await openWith(s, await idToken(listed, { userId: 'gina' }));
    const stranger = await refusedUpgrade(s, { headers: { Authorization: `Bearer ${await idToken(pem, { userId: 'gina' }, { kid: undefined })}` } });
    assert.equal(stranger.status, 401, 'a key that is in neither file');
    await a.close(); await b.close();
    assert.equal(await s.stop(), 0);
    writeFileSync(`${dir}/bad.pem`, 'not a key');
    const bin = process.env.HOPEFLOW_BIN ?? new URL('../../build/hopeflow-realtime', import.meta.url).pathname;
    const r = spawnSync(bin, [], { env: { PATH: process.env.PATH, PORT: '0', ENV_FILE: '', JWT_PUBLIC_KEY_FILE: `${dir}/bad.pem` }, timeout: 10000 });
    assert.equal(r.status, 1);
    assert.match(r.stderr.toString(), /JWT_PUBLIC_KEY_FILE '.*bad\.pem': not a PEM public key/);
  });
});

describe('9. JWKS_URL that misbehaves', () => {
  let idp;
  before(async () => { idp = await jwksServer(); });
  after(() => idp.close());

  it('hangs, returns garbage, 10 MB or a redirect: start-up is bounded, failures are counted, JWT_SECRET still works', async () => {
    for (const [mode, outcome] of [['hang', 'unreachable'], ['garbage', 'unusable'], ['huge', 'too_large'], ['redirect', 'bad_status']]) {
      idp.mode = mode;
      const t0 = performance.now();
      const s = await startServer({ single: true, env: { JWKS_URL: idp.url } });  // JWT_SECRET is set by the helper
      assert.ok(performance.now() - t0 < 9000, `${mode}: started in ${(performance.now() - t0).toFixed(0)} ms`);
      assert.match(s.log(), /jwks: fetching .* failed/);
      assert.equal(await metric(s, `hopeflow_jwks_fetches_total{outcome="${outcome}"}`), 1, mode);
      const c = await connect(s, 'hs-user');  // HS256 with JWT_SECRET is unaffected
      await c.close();
      const rss = Number(/VmRSS:\s+(\d+)/.exec(spawnSync('cat', [`/proc/${s.proc.pid}/status`]).stdout.toString())[1]);
      if (!SANITIZED) assert.ok(rss < 64 * 1024, `${mode}: memory bounded (${rss} KiB)`);  // ASan's shadow and quarantine
      assert.equal(await s.stop(), 0);
    }
  });

  it('refuses to start with one line when JWKS_URL is its only key source and gives nothing', async () => {
    idp.mode = 'garbage';
    const bin = process.env.HOPEFLOW_BIN ?? new URL('../../build/hopeflow-realtime', import.meta.url).pathname;
    const r = spawnSync(bin, [], { env: { PATH: process.env.PATH, PORT: '0', ENV_FILE: '', JWKS_URL: idp.url }, timeout: 15000 });
    assert.equal(r.status, 1);
    assert.match(r.stderr.toString(), /JWKS_URL '.*' gave no keys at start, and no JWT_SECRET or key file is set/);
  });
});

describe('8. token lifetime on open sockets', () => {
  let server;
  before(async () => { server = await startServer({ env: { TOKEN_EXPIRY: 'close' } }); });
  after(async () => { await server.stop(); });

  it('closes a socket with 4001 when its token expires; refresh extends it; bad refreshes change nothing', async () => {
    const exp = expAhead(2);  // 2-3 s, so slow builds (TSan) open both sockets before it
    const short = await connect(server, await token('carol', { expiresIn: null, claims: { exp } }));
    const refreshed = await connect(server, await token('carol', { expiresIn: null, claims: { exp } }));
    refreshed.send({ type: 'refresh', token: await token('carol', { expiresIn: '1h' }) });
    const ok = await refreshed.nextJson();
    assert.equal(ok.type, 'refreshed');
    assert.ok(ok.exp > Date.now() / 1000 + 3000);
    refreshed.send({ type: 'refresh', token: await token('dave') });
    assert.deepEqual(await refreshed.nextJson(), { type: 'refresh_failed', reason: 'wrong_user' });
    refreshed.send({ type: 'refresh', token: 'not.a.token' });
    assert.deepEqual(await refreshed.nextJson(), { type: 'refresh_failed', reason: 'invalid_token' });
    refreshed.send({ type: 'refresh' });
    assert.deepEqual(await refreshed.nextJson(), { type: 'refresh_failed', reason: 'missing_token' });
    const closed = await short.closed;
    assert.deepEqual(closed, { code: 4001, reason: 'token expired' });
    const late = Date.now() - exp * 1000;
    assert.ok(late > -50 && late < 2500, `closed ${late} ms after exp`);
    await refreshed.barrier();  // still open
    assert.equal(await metric(server, 'hopeflow_websocket_closes_total{reason="token_expired"}'), 1);
    assert.equal(await metric(server, 'hopeflow_token_refreshes_total'), 1);
    assert.equal(await metric(server, 'hopeflow_token_refresh_failures_total{reason="wrong_user"}'), 1);
    await refreshed.close();
  });

  it('a protocol error after the server\'s own close frame gets no second close frame (section 3)', async () => {
    const exp = expAhead(2);
    const t = await token('frank', { expiresIn: null, claims: { exp } });
    const s = net.connect(server.port, '127.0.0.1');
    await once(s, 'connect');
    let data = Buffer.alloc(0);
    s.on('data', (d) => { data = Buffer.concat([data, d]); });
    const ended = new Promise((resolve) => s.on('close', resolve));
    s.write(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer ${t}\r\n\r\n`);
    // The server's frames after the 101 (unmasked): their opcodes, and a close's code.
    const frames = () => {
      const at = data.indexOf('\r\n\r\n');
      const out = [];
      for (let p = at < 0 ? data.length : at + 4; p + 1 < data.length;) {
        let len = data[p + 1] & 0x7f, h = 2;
        if (len === 126) { len = data.readUInt16BE(p + 2); h = 4; }
        if (p + h + len > data.length) break;
        out.push({ op: data[p] & 0x0f, code: (data[p] & 0x0f) === 8 && len >= 2 ? data.readUInt16BE(p + h) : null });
        p += h + len;
      }
      return out;
    };
    const deadline = Date.now() + 10000;
    while (!frames().some((f) => f.op === 8) && Date.now() < deadline) await sleep(50);
    assert.deepEqual(frames().filter((f) => f.op === 8).map((f) => f.code), [4001]);
    // Instead of answering the close: a frame with a reserved bit set (masked, as a client's must be).
    s.write(Buffer.from([0xc1, 0x81, 0, 0, 0, 0, 0x78]));
    await Promise.race([ended, sleep(3000)]);
    assert.ok(s.destroyed || s.readableEnded, 'the server ended the connection');
    assert.deepEqual(frames().filter((f) => f.op === 8).map((f) => f.code), [4001], 'one close frame only');
    s.destroy();
  });

  it('with TOKEN_EXPIRY left at ignore, an expired token keeps its socket (the original behaviour)', async () => {
    const lax = await startServer();
    const exp = expAhead(2);
    const c = await connect(lax, await token('erin', { expiresIn: null, claims: { exp } }));
    await sleep(exp * 1000 - Date.now() + 1200);
    await c.barrier();
    await c.close();
    await lax.stop();
  });
});

describe('10. restricting who may publish', () => {
  const PUBLISH_SECRET = 'publisher-secret-that-is-long-enough-!!';
  let server;
  before(async () => { server = await startServer({ env: { PUBLISH_SECRET } }); });
  after(async () => { await server.stop(); });

  it('accepts publisher tokens only (403 for other valid tokens, 401 for bad ones); publisher tokens open no socket', async () => {
    const pub = await token(undefined, { secret: PUBLISH_SECRET });  // no userId needed
    const c = await connect(server, 'frank');
    await c.subscribe([{ type: 't' }]);
    c.autoAck(() => 'ok');
    assert.deepEqual((await publish(server, { userId: 'frank', type: 't' }, { tok: pub })).json, { clientCount: 1, results: ['ok'] });
    const endUser = await publish(server, { userId: 'frank', type: 't' });
    assert.equal(endUser.status, 403);
    assert.equal(endUser.text, '{"error":"Forbidden"}');
    assert.equal(endUser.headers.get('access-control-allow-origin'), '*');
    const bad = await publish(server, { userId: 'frank' }, { tok: 'x.y.z' });
    assert.equal(bad.status, 401);
    const badBody = await publish(server, 'not json', { tok: await token('frank') });
    assert.equal(badBody.status, 403, 'the token is checked before the body');
    assert.equal((await refusedUpgrade(server, { headers: { Authorization: `Bearer ${pub}` } })).status, 401);
    assert.equal(await metric(server, 'hopeflow_publishes_forbidden_total'), 2);
    // The CLI mints the same kind of token.
    const bin = process.env.HOPEFLOW_BIN ?? new URL('../../build/hopeflow-realtime', import.meta.url).pathname;
    const minted = spawnSync(bin, ['token', '--publisher'], { env: { PATH: process.env.PATH, ENV_FILE: '', JWT_SECRET: SECRET, PUBLISH_SECRET } });
    assert.equal(minted.status, 0, minted.stderr.toString());
    const viaCli = await publish(server, { userId: 'frank', type: 't' }, { tok: minted.stdout.toString().trim() });
    assert.equal(viaCli.status, 200);
    await c.close();
  });
});
