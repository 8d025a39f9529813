// The SDK's policies with a fake socket and a fake clock: backoff bounds,
// what each close code leads to, the heartbeat, acks from handlers, filter
// reference counting and chunking, recovery bookkeeping and token refresh.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  backoffDelay, closePolicy, connect, DEFAULTS, matches, normalizeFilter, ProtocolError, tokenExp,
} from '../../clients/js/src/index.js';
import { fakeWebSocketClass, FakeClock, flush } from './fakes.mjs';

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
const fakeJwt = (claims) => `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}.sig`;

function setup(extra = {}) {
  const clock = new FakeClock();
  const { FakeWebSocket, sockets } = fakeWebSocketClass();
  let tokens = 0;
  const tokenFn = async () => { tokens++; return fakeJwt({ userId: 'u', n: tokens }); };
  const events = [];
  const client = connect({ url: 'http://127.0.0.1:1', token: tokenFn, WebSocket: FakeWebSocket, clock, random: () => 0.5, ...extra });
  for (const e of ['state', 'close', 'error', 'recovered', 'recoveryFailed', 'tokenRefreshed', 'reconnecting']) {
    client.on(e, (arg) => events.push([e, arg]));
  }
  return { clock, sockets, client, events, tokens: () => tokens, last: () => sockets[sockets.length - 1] };
}

describe('pure pieces', () => {
  it('normalises filters as the server does and refuses unusable ones', () => {
    assert.deepEqual(normalizeFilter({ type: ' chat ', b: '2', a: ' 1' }), { type: 'chat', a: ' 1', b: '2' });
    assert.throws(() => normalizeFilter({ type: '  ' }), TypeError);
    assert.throws(() => normalizeFilter({ type: 'x', n: 1 }), TypeError);
    assert.throws(() => normalizeFilter([]), TypeError);
    assert.ok(matches({ type: 'chat', q: '1' }, { type: 'chat', payload: { q: '1', z: 2 } }));
    assert.ok(!matches({ type: 'chat', q: '1' }, { type: 'chat', payload: { q: 1 } }), 'the number 1 is not "1"');
    assert.ok(matches({ type: 'chat' }, { type: 'chat' }), 'a type-only filter matches without a payload');
    assert.ok(!matches({ type: 'chat', q: '1' }, { type: 'chat', payload: null }));
  });

  it('reads a token\'s exp without verifying it', () => {
    assert.equal(tokenExp(fakeJwt({ exp: 123 })), 123);
    assert.equal(tokenExp(fakeJwt({})), null);
    assert.equal(tokenExp('garbage'), null);
  });

  it('keeps full-jitter backoff within [floor, min(max, initial * 2^attempt))', () => {
    const o = { initialMs: 500, maxMs: 30_000 };
    for (let attempt = 0; attempt < 40; attempt++) {
      const cap = Math.min(30_000, 500 * 2 ** attempt);
      assert.equal(backoffDelay(attempt, { ...o, random: () => 0 }), 0);
      const hi = backoffDelay(attempt, { ...o, random: () => 0.999999 });
      assert.ok(hi < cap && hi >= cap - 1, `attempt ${attempt}: ${hi} vs cap ${cap}`);
      assert.ok(backoffDelay(attempt, { ...o, floorMs: 5_000, random: () => 0.999999 }) <= 30_000);
      assert.equal(backoffDelay(attempt, { ...o, floorMs: 5_000, random: () => 0 }), 5_000);
    }
  });

  it('maps close codes to the documented policy', () => {
    assert.equal(closePolicy(1001), 'retry');
    assert.equal(closePolicy(1006), 'retry');
    assert.equal(closePolicy(1011), 'retry');
    assert.equal(closePolicy(4001), 'fresh-token');
    assert.equal(closePolicy(1008), 'slow');
    for (const c of [1002, 1007, 1009]) assert.equal(closePolicy(c), 'protocol-error');
  });
});

describe('reconnecting', () => {
  it('backs off exponentially with jitter while the server is away, capped, and resets once a socket stays open', async () => {
    const t = setup();
    await flush();
    const delays = [];
    for (let i = 0; i < 10; i++) {
      t.last().serverClose(1006);
      delays.push(t.clock.pending()[0]);
      await t.clock.advance(delays[i]);
      await flush();
    }
    // random() = 0.5: half of each cap.
    assert.deepEqual(delays, [250, 500, 1000, 2000, 4000, 8000, 15000, 15000, 15000, 15000]);
    assert.equal(t.sockets.length, 11);
    t.last().open();
    await t.clock.advance(DEFAULTS.stableAfterMs);
    t.last().serverClose(1001);
    assert.equal(t.clock.pending()[0], 250, 'a socket that stayed open resets the backoff');
    t.client.close();
    assert.equal(t.client.state, 'closed');
    assert.deepEqual(t.clock.pending(), [], 'no timer left after close()');
  });

  it('1008 (slow consumer) and 1002/1007/1009 back off at least slowBackoffMs; the latter are reported as errors', async () => {
    const t = setup();
    await flush();
    t.last().open();
    t.last().serverClose(1008, 'slow consumer');
    assert.ok(t.clock.pending()[0] >= 5000);
    assert.equal(t.events.filter(([e]) => e === 'error').length, 0);
    await t.clock.advance(t.clock.pending()[0]);
    for (const code of [1002, 1007, 1009]) {
      t.last().open();
      t.last().serverClose(code, 'x');
      const d = t.clock.pending()[0];
      assert.ok(d >= 5000, `${code}: ${d} ms`);
      await t.clock.advance(d);
    }
    const errors = t.events.filter(([e]) => e === 'error').map(([, err]) => err);
    assert.equal(errors.length, 3);
    assert.ok(errors.every((e) => e instanceof ProtocolError));
    assert.deepEqual(errors.map((e) => e.code), [1002, 1007, 1009]);
    t.client.close();
  });

  it('4001 (token expired) and a 401 on the upgrade get a fresh token before the next try; a server that is down does not make it ask on every retry', async () => {
    const t = setup();
    await flush();
    assert.equal(t.tokens(), 1);
    t.last().open();
    t.last().serverClose(1001);
    await t.clock.advance(t.clock.pending()[0]);
    assert.equal(t.tokens(), 1, '1001 reuses the token');
    assert.match(t.last().url, /token=/);
    t.last().open();
    await t.clock.advance(DEFAULTS.stableAfterMs);  // a long-lived socket whose token expires
    t.last().serverClose(4001, 'token expired');
    assert.ok(t.clock.pending()[0] < DEFAULTS.backoffInitialMs, 'an expired token is replaced at once (jittered)');
    await t.clock.advance(t.clock.pending()[0]);
    assert.equal(t.tokens(), 2);
    // A 401 on the upgrade (npm ws reports it): fresh token next time.
    t.last().onerror?.({ message: 'Unexpected server response: 401' });
    t.last().serverClose(1006);
    await t.clock.advance(t.clock.pending()[0]);
    assert.equal(t.tokens(), 3);
    // Never opened without a 401 (a server that is down, or a browser that
    // cannot say): a fresh token after every third such failure in a row.
    for (const expected of [3, 3, 4, 4, 4, 5]) {
      t.last().serverClose(1006);
      await t.clock.advance(t.clock.pending()[0]);
      assert.equal(t.tokens(), expected);
    }
    t.last().open();
    t.last().serverClose(1006);
    await t.clock.advance(t.clock.pending()[0]);
    assert.equal(t.tokens(), 5, 'an open socket resets the count');
    t.client.close();
  });

  it('a heartbeat ping after a quiet spell; no frame within the timeout drops the socket and reconnects', async () => {
    const t = setup();
    await flush();
    t.last().open();
    await t.clock.advance(DEFAULTS.heartbeatMs);
    assert.deepEqual(t.last().sent.filter((s) => s === 'ping'), ['ping']);
    t.last().message('pong');
    await t.clock.advance(DEFAULTS.heartbeatTimeoutMs + 1000);
    assert.equal(t.sockets.length, 1, 'the pong kept it');
    await t.clock.advance(DEFAULTS.heartbeatMs - 1000);
    await t.clock.advance(DEFAULTS.heartbeatTimeoutMs);
    assert.equal(t.sockets[0].readyState, 3, 'no answer to the second ping: dropped');
    assert.ok(t.events.some(([e, a]) => e === 'close' && a.reason === 'heartbeat timeout'));
    assert.equal(t.client.state, 'reconnecting');
    t.client.close();
  });
});

describe('closing and misuse', () => {
  it('close() from a listener stops everything: no timer left, no token asked for afterwards', async () => {
    const t = setup();
    await flush();
    t.client.on('reconnecting', () => t.client.close());
    t.last().open();
    t.last().serverClose(1006);
    await flush();
    assert.equal(t.client.state, 'closed');
    assert.deepEqual(t.clock.pending(), []);
    const t2 = setup();
    t2.client.on('open', () => t2.client.close());
    await flush();
    t2.last().open();
    assert.deepEqual(t2.clock.pending(), [], 'no heartbeat, refresh or stable timer after a close() in the open listener');
    await t2.clock.advance(10 * 60_000);
    assert.equal(t2.tokens(), 1);
  });

  it('close() clears the ack timers of handlers still running; a result JSON cannot carry is acked null and reported', async () => {
    const t = setup({ recover: false });
    t.client.subscribe({ type: 'slow' }, () => new Promise(() => {}));
    t.client.subscribe({ type: 'big' }, () => 10n);
    await flush();
    t.last().open();
    t.last().message({ envelopeId: 'b1', type: 'big', userId: 'u', timestamp: 'x' });
    await flush();
    assert.deepEqual(t.last().json().filter((m) => m.type === 'ack'), [{ type: 'ack', envelopeId: 'b1', result: null }]);
    assert.ok(t.events.some(([e, err]) => e === 'error' && /not serialisable/.test(err.message)));
    t.last().message({ envelopeId: 's1', type: 'slow', userId: 'u', timestamp: 'x' });
    await flush();
    assert.ok(t.clock.pending().length > 0);
    t.client.close();
    assert.deepEqual(t.clock.pending(), []);
  });

  it('repeated 4001 closes of short-lived sockets back off instead of reconnecting every few hundred ms', async () => {
    const t = setup();
    await flush();
    const delays = [];
    for (let i = 0; i < 6; i++) {
      t.last().open();
      t.last().serverClose(4001, 'token expired');
      delays.push(t.clock.pending()[0]);
      await t.clock.advance(delays.at(-1));
    }
    assert.deepEqual(delays, [250, 500, 1000, 2000, 4000, 8000]);
    t.client.close();
  });

  it('refuses a URL it cannot connect to at once, and keeps a filter member named __proto__', () => {
    const { FakeWebSocket } = fakeWebSocketClass();
    for (const url of ['/relative', 'ftp://host', 'not a url']) {
      assert.throws(() => connect({ url, token: 't', WebSocket: FakeWebSocket }), TypeError, url);
    }
    const f = normalizeFilter(JSON.parse('{"type":"t","__proto__":"x"}'));
    assert.equal(JSON.stringify(f), '{"type":"t","__proto__":"x"}');
    assert.ok(!matches(f, { type: 't', payload: {} }), 'the member is matched, not dropped');
  });
});

describe('filters and acks', () => {
  it('reference-counts filters and sends them in chunks of 50, again after every reconnect', async () => {
    const t = setup({ recover: false });
    const offs = [];
    for (let i = 0; i < 120; i++) offs.push(t.client.subscribe({ type: 't', i: String(i) }, () => {}));
    await flush();
    t.last().open();
    await flush();
    assert.deepEqual(t.last().json().map((m) => [m.type, m.filters.length]), [['subscribe', 50], ['subscribe', 50], ['subscribe', 20]]);
    const a = t.client.subscribe({ type: ' shared ' }, () => 'a');
    const b = t.client.subscribe({ type: 'shared' }, () => 'b');
    for (let i = 120; i < 180; i++) offs.push(t.client.subscribe({ type: 't', i: String(i) }, () => {}));
    await flush();
    assert.deepEqual(t.last().json().slice(3).map((m) => [m.type, m.filters.length]), [['subscribe', 50], ['subscribe', 11]]);
    a();
    a();  // twice is harmless
    await flush();
    assert.equal(t.last().json().length, 5, 'still held by the second handler');
    b();
    await flush();
    assert.deepEqual(t.last().json()[5], { type: 'unsubscribe', filters: [{ type: 'shared' }] });
    offs[0]();
    const again = t.client.subscribe({ type: 't', i: '0' }, () => {});  // off and on within one tick: nothing sent
    await flush();
    assert.equal(t.last().json().length, 6);
    t.last().serverClose(1006);
    await t.clock.advance(t.clock.pending()[0]);
    t.last().open();
    await flush();
    const resent = t.last().json();
    assert.deepEqual(resent.map((m) => m.filters.length), [50, 50, 50, 30]);
    assert.equal(new Set(resent.flatMap((m) => m.filters.map((f) => f.i))).size, 180);
    again();
    t.client.close();
  });

  it('acks with what the handler returns, null for a throw, and null after ackTimeoutMs for a slow one', async () => {
    const t = setup({ recover: false, ackTimeoutMs: 3000 });
    t.client.subscribe({ type: 'ok' }, (env) => ({ seen: env.payload.n }));
    t.client.subscribe({ type: 'throws' }, () => { throw new Error('boom'); });
    t.client.subscribe({ type: 'slow' }, () => new Promise(() => {}));
    t.client.subscribe({ type: 'two' }, () => undefined);
    t.client.subscribe({ type: 'two', k: 'v' }, async () => 'second');
    await flush();
    t.last().open();
    const env = (id, type, payload) => ({ envelopeId: id, type, userId: 'u', timestamp: 'x', payload });
    t.last().message(env('e1', 'ok', { n: 7 }));
    t.last().message(env('e2', 'throws', {}));
    t.last().message(env('e3', 'slow', {}));
    t.last().message(env('e4', 'two', { k: 'v' }));
    t.last().message(env('e5', 'nobody', {}));
    await flush();
    const acks = () => Object.fromEntries(t.last().json().filter((m) => m.type === 'ack').map((m) => [m.envelopeId, m.result]));
    assert.deepEqual(acks(), { e1: { seen: 7 }, e2: null, e4: 'second', e5: null });
    await t.clock.advance(2999);
    assert.equal(acks().e3, undefined);
    await t.clock.advance(1);
    assert.equal(acks().e3, null, 'acked when ackTimeoutMs passed');
    t.last().message(env('e1', 'ok', { n: 7 }));
    await flush();
    assert.equal(t.last().json().filter((m) => m.envelopeId === 'e1').length, 2, 'a duplicate is acked (null) but not handled again');
    t.client.close();
  });
});

describe('recovery and refresh bookkeeping', () => {
  it('asks for recovery after the subscribes, keeps the position, and reports recoveryFailed only when a position was lost', async () => {
    const t = setup();
    t.client.subscribe({ type: 'chat' }, () => 'ok');
    await flush();
    t.last().open();
    await flush();
    assert.deepEqual(t.last().json(), [{ type: 'subscribe', filters: [{ type: 'chat' }] }, { type: 'recover' }]);
    t.last().message({ type: 'recovered', epoch: 'E1', offset: 4, recovered: false });
    t.last().message({ envelopeId: 'a', type: 'chat', userId: 'u', timestamp: 'x', offset: 5 });
    t.last().message({ envelopeId: 'b', type: 'chat', userId: 'u', timestamp: 'x', offset: 6 });
    assert.deepEqual(t.client.position, { epoch: 'E1', offset: 6 });
    assert.equal(t.events.filter(([e]) => e === 'recoveryFailed').length, 0, 'the first connection had nothing to recover');
    t.last().serverClose(1001);
    await t.clock.advance(t.clock.pending()[0]);
    t.last().open();
    await flush();
    assert.deepEqual(t.last().json(), [{ type: 'subscribe', filters: [{ type: 'chat' }] }, { type: 'recover', epoch: 'E1', offset: 6 }]);
    t.last().message({ envelopeId: 'b', type: 'chat', userId: 'u', timestamp: 'x', offset: 6 });
    t.last().message({ envelopeId: 'c', type: 'chat', userId: 'u', timestamp: 'x', offset: 7 });
    t.last().message({ type: 'recovered', epoch: 'E1', offset: 9, recovered: true });
    await flush();
    assert.deepEqual(t.client.position, { epoch: 'E1', offset: 9 });
    const handled = t.events.filter(([e]) => e === 'recoveryFailed');
    assert.equal(handled.length, 0);
    // An epoch change on the open socket.
    t.last().message({ type: 'recovered', epoch: 'E2', offset: 0, recovered: false });
    assert.deepEqual(t.events.filter(([e]) => e === 'recoveryFailed').map(([, i]) => i), [{ epoch: 'E2', offset: 0, recovered: false }]);
    assert.deepEqual(t.client.position, { epoch: 'E2', offset: 0 });
    t.client.close();
  });

  it('a socket that went before its first recovered frame leaves a gap no position covers: recoveryFailed', async () => {
    const t = setup();
    t.client.subscribe({ type: 'chat' }, () => 'ok');
    await flush();
    t.last().open();
    t.last().serverClose(1006);  // gone before `recovered`
    await t.clock.advance(t.clock.pending()[0]);
    t.last().open();
    await flush();
    assert.deepEqual(t.last().json().at(-1), { type: 'recover' }, 'no position to give');
    t.last().message({ type: 'recovered', epoch: 'E1', offset: 3, recovered: false });
    assert.equal(t.events.filter(([e]) => e === 'recoveryFailed').length, 1);
    t.client.close();
  });

  it('refreshes a token before its exp on the open socket, and reconnects when the refresh fails or goes unanswered', async () => {
    const clock = new FakeClock();
    const { FakeWebSocket, sockets } = fakeWebSocketClass();
    let minted = 0;
    const token = async () => { minted++; return fakeJwt({ userId: 'u', exp: Math.floor(clock.now() / 1000) + 120 }); };
    const client = connect({ url: 'ws://x', token, WebSocket: FakeWebSocket, clock, random: () => 0.5, heartbeatMs: 0 });
    const refreshed = [];
    client.on('tokenRefreshed', (x) => refreshed.push(x));
    await flush();
    sockets[0].open();
    await clock.advance(59_000);
    assert.equal(sockets[0].json().filter((m) => m.type === 'refresh').length, 0);
    await clock.advance(1_000);
    const [r1] = sockets[0].json().filter((m) => m.type === 'refresh');
    assert.ok(r1 && tokenExp(r1.token) >= Math.floor(clock.now() / 1000) + 119, 'a fresh token, 60 s before exp');
    assert.equal(minted, 2);
    sockets[0].message({ type: 'refreshed', exp: tokenExp(r1.token) });
    assert.equal(refreshed.length, 1);
    await clock.advance(60_000);
    assert.equal(sockets[0].json().filter((m) => m.type === 'refresh').length, 2, 'and again before the new exp');
    sockets[0].message({ type: 'refresh_failed', reason: 'invalid_token' });
    assert.equal(sockets[0].readyState, 3, 'a failed refresh drops the socket');
    await clock.advance(clock.pending()[0]);
    assert.equal(sockets.length, 2);
    assert.equal(minted, 4, 'and reconnects with a fresh token');
    sockets[1].open();
    await clock.advance(60_000);
    assert.equal(sockets[1].json().filter((m) => m.type === 'refresh').length, 1);
    await clock.advance(DEFAULTS.refreshTimeoutMs);
    assert.equal(sockets[1].readyState, 3, 'an unanswered refresh (a server without section 8) falls back to reconnecting');
    client.close();
  });
});
