// The SDK against the real server binary (npm `ws` as its WebSocket, Node's
// fetch for publish): acks reaching the publisher, typed publish errors,
// reference counting and chunking as the server sees them, a node killed and
// restarted under a client with what was missed recovered from Redis, a
// recovery that cannot be made, and token expiry with refresh.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  BadRequestError, connect, ForbiddenError, publish, UnauthorizedError,
} from '../../clients/js/src/index.js';
import {
  freePort, sleep, startServer, token, WebSocket,
} from '../e2e/helpers.mjs';
import { restartablePair, until } from './helpers.mjs';

// A WebSocket class that records what the SDK sends.
function recordingWebSocket(log) {
  return class extends WebSocket {
    send(data, ...rest) { log.push(data); return super.send(data, ...rest); }
  };
}

// Fast reconnects for tests; the defaults are for production.
const quick = { backoffInitialMs: 100, backoffMaxMs: 1000, WebSocket };

describe('SDK: acks and publish', () => {
  let server;
  before(async () => { server = await startServer({ single: true }); });
  after(() => server.stop());

  it('a handler\'s result reaches the publisher; a throwing handler acks null; a slow one is acked null in time', async () => {
    const client = connect({ url: server.http, token: await token('ann'), ...quick, ackTimeoutMs: 300 });
    client.subscribe({ type: 'chat_message', room: 'r1' }, (env) => ({ read: env.payload.text }));
    client.subscribe({ type: 'boom' }, () => { throw new Error('handler bug'); });
    client.subscribe({ type: 'slow' }, () => new Promise(() => {}));
    await until(() => client.state === 'open', 'open');
    const pub = { url: server.http, token: await token('backend'), userId: 'ann' };
    // The subscribes are in flight; a publish right after may race them.
    await until(async () => (await publish({ ...pub, type: 'chat_message', payload: { room: 'r1', text: 'hi' } })).clientCount === 1, 'subscribed');
    assert.deepEqual(await publish({ ...pub, type: 'chat_message', payload: { room: 'r1', text: 'hello' } }), { clientCount: 1, results: [{ read: 'hello' }] });
    assert.deepEqual(await publish({ ...pub, type: 'chat_message', payload: { room: 'r2' } }), { clientCount: 0, results: [] });
    assert.deepEqual(await publish({ ...pub, type: 'boom' }), { clientCount: 1, results: [null] });
    const t0 = performance.now();
    assert.deepEqual(await publish({ ...pub, type: 'slow' }), { clientCount: 1, results: [null] });
    assert.ok(performance.now() - t0 < 2000, 'acked by the SDK long before the server\'s 5 s');
    assert.deepEqual(await publish({ ...pub, type: 'slow', ackTimeoutMs: 0 }), { clientCount: 1, results: [] }, 'fire and forget');
    client.close();
  });

  it('publish throws typed errors for 401, 403 and 400', async () => {
    await assert.rejects(publish({ url: server.http, token: 'not-a-jwt', userId: 'ann' }),
      (e) => e instanceof UnauthorizedError && e.status === 401 && e.body.error === 'Unauthorized');
    await assert.rejects(publish({ url: server.http, token: await token('b'), userId: 'ann', ackTimeoutMs: -1 }),
      (e) => e instanceof BadRequestError && e.status === 400);
    const restricted = await startServer({ single: true, env: { PUBLISH_SECRET: 'p'.repeat(40) } });
    try {
      await assert.rejects(publish({ url: restricted.ws, token: await token('b'), userId: 'ann' }),
        (e) => e instanceof ForbiddenError && e.status === 403 && e.body.error === 'Forbidden');
      const pubTok = await token(undefined, { secret: 'p'.repeat(40) });
      assert.deepEqual(await publish({ url: `${restricted.http}/publish`, token: pubTok, userId: 'ann' }), { clientCount: 0, results: [] });
    } finally {
      await restricted.stop();
    }
  });

  it('reference-counts filters and sends them in chunks of 50 (the server sees every one)', async () => {
    const sent = [];
    const client = connect({ url: server.ws, token: await token('bob'), ...quick, WebSocket: recordingWebSocket(sent), recover: false });
    const offs = [];
    for (let i = 0; i < 130; i++) offs.push(client.subscribe({ type: 'n', i: String(i) }, () => i));
    const shared = [client.subscribe({ type: 'shared' }, () => 'first'), client.subscribe({ type: 'shared' }, () => 'second')];
    await until(() => client.state === 'open', 'open');
    const pub = { url: server.http, token: await token('backend'), userId: 'bob' };
    await until(async () => (await publish({ ...pub, type: 'n', payload: { i: '129' } })).clientCount === 1, 'subscribed');
    const subs = sent.map((s) => JSON.parse(s)).filter((m) => m.type === 'subscribe');
    assert.ok(subs.every((m) => m.filters.length <= 50), JSON.stringify(subs.map((m) => m.filters.length)));
    assert.equal(subs.reduce((n, m) => n + m.filters.length, 0), 131, 'each distinct filter once');
    assert.deepEqual(await publish({ ...pub, type: 'n', payload: { i: '77' } }), { clientCount: 1, results: [77] });
    assert.deepEqual(await publish({ ...pub, type: 'shared' }), { clientCount: 1, results: ['first'] });
    shared[0]();
    assert.deepEqual(await publish({ ...pub, type: 'shared' }), { clientCount: 1, results: ['second'] }, 'still held by the other view');
    shared[1]();
    await until(async () => (await publish({ ...pub, type: 'shared' })).clientCount === 0, 'the last view unsubscribed');
    for (const off of offs.slice(0, 100)) off();
    await until(async () => (await publish({ ...pub, type: 'n', payload: { i: '99' } })).clientCount === 0, 'unsubscribed');
    assert.deepEqual(await publish({ ...pub, type: 'n', payload: { i: '100' } }), { clientCount: 1, results: [100] });
    client.close();
  });
});

describe('SDK: a node killed and restarted under the client', () => {
  let pair;
  before(async () => { pair = await restartablePair(); });
  after(() => pair.stop());

  it('reconnects with jitter, restores subscriptions and recovers what was published meanwhile, once each, in order', async () => {
    let tokens = 0;
    const client = connect({ url: `ws://127.0.0.1:${pair.portA}`, token: async () => { tokens++; return token('cara'); }, ...quick });
    const got = [];
    const states = [];
    client.on('state', (s) => states.push(s));
    const failed = [];
    client.on('recoveryFailed', (x) => failed.push(x));
    let neverOpened = 0;
    client.on('close', (c) => { if (!c.wasOpen) neverOpened++; });
    client.subscribe({ type: 'chat_message' }, (env) => { got.push(env.payload.n); return `read ${env.payload.n}`; });
    await until(() => client.position !== null, 'the first recovered frame');
    const backend = await token('backend');
    const pub = (n) => publish({ url: pair.b.http, token: backend, userId: 'cara', type: 'chat_message', payload: { n } });
    for (let n = 1; n <= 3; n++) assert.deepEqual(await pub(n), { clientCount: 1, results: [`read ${n}`] });
    await pair.a.stop('SIGKILL');
    await until(() => client.state === 'reconnecting', 'noticing the kill');
    for (let n = 4; n <= 6; n++) assert.deepEqual(await pub(n), { clientCount: 0, results: [] });
    await pair.restartA();
    await until(() => got.length >= 6, 'the recovered envelopes', 15_000);
    assert.deepEqual(await pub(7), { clientCount: 1, results: ['read 7'] }, 'live again, acks reaching the publisher');
    assert.deepEqual(got, [1, 2, 3, 4, 5, 6, 7], 'everything once, in order');
    assert.deepEqual(failed, []);
    assert.ok(states.includes('reconnecting') && states.at(-1) === 'open', states.join(','));
    // The token stayed good: a fresh one is asked for only after every third
    // connection in a row that never opened (the node was down meanwhile).
    assert.ok(tokens <= 1 + Math.floor(neverOpened / 3), `${tokens} tokens for ${neverOpened} failed tries`);
    client.close();
  });

  it('tells the app plainly (recoveryFailed) when what was missed cannot be replayed', async () => {
    const single = await startServer({ single: true, env: { PORT: String(await freePort()) } });
    const port = single.port;
    const client = connect({ url: single.ws, token: await token('dan'), ...quick });
    const failed = [];
    client.on('recoveryFailed', (x) => failed.push(x));
    client.subscribe({ type: 'x' }, () => 'ok');
    await until(() => client.position !== null, 'the first recovered frame');
    assert.equal((await publish({ url: single.http, token: await token('p'), userId: 'dan', type: 'x' })).clientCount, 1);
    await single.stop('SIGKILL');
    // One node without Redis keeps history in memory: a restart starts a new epoch.
    const again = await startServer({ single: true, env: { PORT: String(port) } });
    try {
      await until(() => failed.length === 1, 'recoveryFailed');
      assert.equal(failed[0].recovered, false);
      assert.notEqual(failed[0].epoch, undefined);
      assert.equal(client.position.epoch, failed[0].epoch);
    } finally {
      client.close();
      await again.stop();
    }
  });
});

describe('SDK: token lifetime (TOKEN_EXPIRY=close)', () => {
  let server;
  before(async () => { server = await startServer({ single: true, env: { TOKEN_EXPIRY: 'close' } }); });
  after(() => server.stop());

  it('refreshes a short-lived token on the open socket, so the socket outlives it', async () => {
    let minted = 0;
    const client = connect({ url: server.ws, token: async () => { minted++; return token('eve', { expiresIn: '4s' }); }, ...quick, refreshLeadMs: 2000 });
    const closes = [];
    const refreshed = [];
    client.on('close', (c) => closes.push(c));
    client.on('tokenRefreshed', (r) => refreshed.push(r));
    client.subscribe({ type: 't' }, () => 'still here');
    await until(() => client.state === 'open', 'open');
    await sleep(5500);
    assert.deepEqual(closes, [], 'never closed');
    assert.ok(refreshed.length >= 2, `refreshed ${refreshed.length} times`);
    assert.ok(minted >= 3);
    assert.deepEqual(await publish({ url: server.http, token: await token('p'), userId: 'eve', type: 't' }), { clientCount: 1, results: ['still here'] });
    client.close();
  });

  it('without refresh, a 4001 close makes it fetch a fresh token and reconnect with its subscriptions', async () => {
    let minted = 0;
    const client = connect({ url: server.ws, token: async () => { minted++; return token('fay', { expiresIn: '3s' }); }, ...quick, refresh: false });
    const closes = [];
    client.on('close', (c) => closes.push(c.code));
    client.subscribe({ type: 't' }, () => 'back');
    await until(() => closes.includes(4001), 'the 4001 close', 8000);
    await until(() => client.state === 'open', 'reopened');
    assert.equal(minted, 2, 'one fresh token after the 4001');
    await until(async () => (await publish({ url: server.http, token: await token('p'), userId: 'fay', type: 't' })).clientCount === 1, 'resubscribed');
    client.close();
  });
});
