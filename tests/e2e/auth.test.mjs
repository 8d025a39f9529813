// docs/protocol.md section 1: authentication of upgrades and publishes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, publish, rawToken, refusedUpgrade, startServer, token, SECRET } from './helpers.mjs';

let server;
before(async () => { server = await startServer(); });
after(async () => { await server.stop(); });

const now = () => Math.floor(Date.now() / 1000);

// Every token here must be refused by both the upgrade and the publish.
async function assertRefused(tok, label) {
  const up = await refusedUpgrade(server, { headers: { Authorization: `Bearer ${tok}` } });
  assert.equal(up.status, 401, `${label}: upgrade`);
  assert.equal(up.body, 'Unauthorized');
  const pub = await publish(server, { userId: 'u' }, { tok });
  assert.equal(pub.status, 401, `${label}: publish`);
  assert.deepEqual(pub.json, { error: 'Unauthorized' });
}

describe('1. authentication', () => {
  it('accepts a jose-minted HS256 token in the header, any case of "bearer"', async () => {
    const t = await token('alice');
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      const ws = await connect(server, t.toString(), { via: 'header' });
      await ws.barrier();
      await ws.close();
      const res = await fetch(`${server.http}/publish`, {
        method: 'POST', headers: { authorization: `${scheme} ${t}`, 'content-type': 'application/json' },
        body: JSON.stringify({ userId: 'alice' }),
      });
      assert.equal(res.status, 200, scheme);
    }
  });

  it('accepts a header without scheme (the whole value is the token)', async () => {
    const t = await token('alice');
    const res = await fetch(`${server.http}/publish`, {
      method: 'POST', headers: { authorization: t, 'content-type': 'application/json' }, body: '{"userId":"x"}',
    });
    assert.equal(res.status, 200);
  });

  it('takes ?token= only when the header is absent or blank', async () => {
    const good = await token('bob');
    const ws = await connect(server, good, { via: 'query' });
    await ws.barrier();
    await ws.close();
    const blank = await fetch(`${server.http}/publish?token=${good}`, {
      method: 'POST', headers: { authorization: '   ', 'content-type': 'application/json' }, body: '{"userId":"x"}',
    });
    assert.equal(blank.status, 200);
    // A present but invalid header wins over a valid query token.
    const up = await refusedUpgrade(server, { path: `/?token=${good}`, headers: { Authorization: 'Bearer nope' } });
    assert.equal(up.status, 401);
    const bare = await refusedUpgrade(server, { path: `/?token=${good}`, headers: { Authorization: 'Bearer' } });
    assert.equal(bare.status, 401);
    const pub = await publish(server, { userId: 'x' }, { tok: 'nope', query: `?token=${good}` });
    assert.equal(pub.status, 401);
  });

  it('refuses a request with no token at all, with the exact bodies and headers', async () => {
    const up = await refusedUpgrade(server);
    assert.equal(up.status, 401);
    assert.equal(up.body, 'Unauthorized');
    assert.match(up.headers['content-type'], /^text\/plain/);
    const pub = await publish(server, { userId: 'u' }, { tok: null });
    assert.equal(pub.status, 401);
    assert.equal(pub.text, '{"error":"Unauthorized"}');
    assert.equal(pub.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(pub.headers.get('access-control-allow-origin'), '*');
  });

  it('refuses algorithms other than HS256', async () => {
    await assertRefused(await token('u', { header: { alg: 'HS384', typ: 'JWT' } }), 'HS384');
    await assertRefused(await token('u', { header: { alg: 'HS512', typ: 'JWT' } }), 'HS512');
    await assertRefused(rawToken({ alg: 'none', typ: 'JWT' }, { userId: 'u' }, SECRET, null), 'alg none, unsigned');
    await assertRefused(rawToken({ alg: 'RS256', typ: 'JWT' }, { userId: 'u' }), 'RS256 label');
  });

  it('requires typ JWT (any case, application/jwt too) and refuses crit', async () => {
    const ok = rawToken({ alg: 'HS256', typ: 'application/JWT' }, { userId: 'u' });
    assert.equal((await publish(server, { userId: 'x' }, { tok: ok })).status, 200);
    await assertRefused(await token('u', { header: { alg: 'HS256' } }), 'no typ');
    await assertRefused(await token('u', { header: { alg: 'HS256', typ: 'JOSE' } }), 'typ JOSE');
    await assertRefused(rawToken({ alg: 'HS256', typ: 'JWT', crit: ['exp'] }, { userId: 'u' }), 'crit');
  });

  it('refuses tampered, wrongly signed and malformed tokens', async () => {
    const t = await token('u');
    const [h, , s] = t.split('.');
    await assertRefused(`${h}.${Buffer.from('{"userId":"admin"}').toString('base64url')}.${s}`, 'tampered payload');
    await assertRefused(await token('u', { secret: 'another-secret-of-sufficient-length!!' }), 'other key');
    await assertRefused(t.slice(0, -2), 'truncated signature');
    await assertRefused('a.b.c', 'garbage');
    await assertRefused(rawToken({ alg: 'HS256', typ: 'JWT' }, '[1,2]'), 'payload not an object');
  });

  it('checks exp and nbf against the current second, and claim types', async () => {
    await assertRefused(rawToken({ alg: 'HS256', typ: 'JWT' }, { userId: 'u', exp: now() - 1 }), 'expired');
    await assertRefused(rawToken({ alg: 'HS256', typ: 'JWT' }, { userId: 'u', exp: now() }), 'exp == now');
    await assertRefused(rawToken({ alg: 'HS256', typ: 'JWT' }, { userId: 'u', nbf: now() + 60 }), 'nbf in future');
    await assertRefused(rawToken({ alg: 'HS256', typ: 'JWT' }, { userId: 'u', exp: String(now() + 60) }), 'exp string');
    await assertRefused(rawToken({ alg: 'HS256', typ: 'JWT' }, { userId: 'u', iat: 'yesterday' }), 'iat string');
    const valid = rawToken({ alg: 'HS256', typ: 'JWT' }, { userId: 'u', nbf: now() - 1, exp: now() + 60, iat: 1 });
    assert.equal((await publish(server, { userId: 'x' }, { tok: valid })).status, 200);
  });

  it('requires a non-blank string userId and uses it trimmed', async () => {
    await assertRefused(await token(undefined), 'no userId');
    await assertRefused(await token('   '), 'blank userId');
    await assertRefused(await token(42), 'numeric userId');
    const ws = await connect(server, await token('  carol  '));
    await ws.subscribe([{ type: 'hi' }]);
    const pub = await publish(server, { userId: 'carol', type: 'hi', ackTimeoutMs: 0 });
    assert.equal(pub.json.clientCount, 1);
    const env = await ws.nextJson();
    assert.equal(env.userId, 'carol');
    await ws.close();
  });

  it('lets any valid token publish to any user', async () => {
    const ws = await connect(server, 'dave');
    await ws.subscribe([{ type: 't' }]);
    ws.autoAck(() => 'ok');
    const pub = await publish(server, { userId: 'dave', type: 't' }, { tok: await token('someone-else') });
    assert.deepEqual(pub.json, { clientCount: 1, results: ['ok'] });
    await ws.close();
  });
});
