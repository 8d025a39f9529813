// The SDK's policies with a fake socket and a fake clock: backoff bounds,
// what each close code leads to, the heartbeat, acks from handlers, filter
// reference counting and chunking, recovery bookkeeping and token refresh;
// devices, 4002, cancels and ready() (docs/protocol.md sections 11-13), and
// what publish() and devices() send, with a fake fetch.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import {
  backoffDelay, BadRequestError, closePolicy, connect, DEFAULTS, devices, HopeflowError, isDevice, matches,
  normalizeFilter, ProtocolError, publish, STATES, tokenExp, UnauthorizedError,
} from '../../clients/js/src/index.js';
import { fakeFetch, fakeWebSocketClass, FakeClock, flush } from './fakes.mjs';

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
const fakeJwt = (claims) => `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}.sig`;

function setup(extra = {}) {
  const clock = new FakeClock();
  const { FakeWebSocket, sockets } = fakeWebSocketClass();
  let tokens = 0;
  const tokenFn = async () => { tokens++; return fakeJwt({ userId: 'u', n: tokens }); };
  const events = [];
  const client = connect({ url: 'http://127.0.0.1:1', token: tokenFn, WebSocket: FakeWebSocket, clock, random: () => 0.5, ...extra });
  for (const e of ['state', 'close', 'error', 'recovered', 'recoveryFailed', 'tokenRefreshed', 'reconnecting', 'replaced', 'cancel']) {
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

// --- sections 11-13 -------------------------------------------------------------

const envelope = (id, type, payload) => ({ envelopeId: id, type, userId: 'u', timestamp: 'x', payload });
const acksOf = (socket) => socket.json().filter((m) => m.type === 'ack');

describe('devices (section 11)', () => {
  it('sends the device as the percent-encoded `device` query parameter, on every connection', async () => {
    const t = setup({ device: 'phone&x=1%' });
    await flush();
    const u = new URL(t.last().url);
    assert.equal(u.searchParams.get('device'), 'phone&x=1%');
    assert.match(t.last().url, /device=phone%26x%3D1%25/);
    assert.equal(t.client.device, 'phone&x=1%');
    t.last().open();
    t.last().serverClose(1006);
    await t.clock.advance(t.clock.pending()[0]);
    assert.equal(new URL(t.last().url).searchParams.get('device'), 'phone&x=1%', 'again after a reconnect');
    t.client.close();
    const none = setup();
    await flush();
    assert.equal(new URL(none.last().url).searchParams.has('device'), false, 'no device: no parameter');
    assert.equal(none.client.device, null);
    none.client.close();
  });

  it('refuses a device the server would refuse (1-64 printable ASCII) at construction', () => {
    const { FakeWebSocket, sockets } = fakeWebSocketClass();
    for (const device of ['', 'a b', 'tab\t1', 'café', 'x'.repeat(65), 5, true, {}]) {
      assert.throws(() => connect({ url: 'ws://h', token: 't', WebSocket: FakeWebSocket, device }),
        (e) => e instanceof TypeError && /device must be 1-64 printable ASCII/.test(e.message), JSON.stringify(device));
    }
    assert.equal(sockets.length, 0, 'nothing opened');
    for (const device of ['!', '~', 'x'.repeat(64), 'Phone-1_{"a"}']) assert.ok(isDevice(device), device);
    const ok = connect({ url: 'ws://h', token: 't', WebSocket: FakeWebSocket, device: 'x'.repeat(64), clock: new FakeClock() });
    ok.close();
  });

  it('4002 (replaced): state replaced, a replaced event after the close event, no reconnect, ever', async () => {
    assert.equal(closePolicy(4002), 'replaced');
    assert.ok(STATES.includes('replaced'));
    const t = setup({ device: 'phone' });
    t.client.subscribe({ type: 'slow' }, () => new Promise(() => {}));
    await flush();
    t.last().open();
    t.last().message(envelope('s1', 'slow'));
    const waiting = t.client.ready();
    await flush();
    t.events.length = 0;
    t.last().serverClose(4002, 'replaced');
    assert.deepEqual(t.events, [
      ['close', { code: 4002, reason: 'replaced', wasOpen: true }],
      ['state', 'replaced'],
      ['replaced', { code: 4002, reason: 'replaced' }],
    ]);
    assert.equal(t.client.state, 'replaced');
    assert.deepEqual(t.clock.pending(), [], 'no retry, heartbeat or ack timer left');
    await assert.rejects(waiting, (e) => e instanceof HopeflowError && e.code === 4002, 'a pending ready() is told');
    await assert.rejects(t.client.ready(), /replaced/);
    await t.clock.advance(10 * 60_000);
    assert.equal(t.sockets.length, 1, 'never reconnected');
    assert.equal(t.tokens(), 1);
    t.client.close();
    assert.equal(t.client.state, 'replaced', 'close() afterwards keeps the state that says why');
  });
});

describe('cancel (section 12)', () => {
  it('aborts the signal of a handler still running, sends no ack for it, and leaves finished ones alone', async () => {
    const t = setup({ recover: false, ackTimeoutMs: 3000, device: 'laptop' });
    const signals = {};
    let finishSlow;
    t.client.subscribe({ type: 'slow' }, (env, { signal }) => {
      signals[env.envelopeId] = signal;
      return new Promise((resolve) => { finishSlow = resolve; });
    });
    t.client.subscribe({ type: 'fast' }, (env, ctx) => { signals[env.envelopeId] = ctx.signal; return 'done'; });
    t.client.subscribe({ type: 'cancel' }, () => 'an envelope of type cancel');
    await flush();
    t.last().open();
    t.last().message(envelope('e1', 'slow'));
    t.last().message(envelope('e2', 'fast'));
    await flush();
    assert.deepEqual(acksOf(t.last()), [{ type: 'ack', envelopeId: 'e2', result: 'done' }]);
    t.last().message({ type: 'cancel', envelopeId: 'e1' });
    t.last().message({ type: 'cancel', envelopeId: 'e2' });
    t.last().message({ type: 'cancel', envelopeId: 'never-seen' });
    assert.deepEqual(t.events.filter(([e]) => e === 'cancel').map(([, x]) => x), [
      { envelopeId: 'e1', aborted: true },
      { envelopeId: 'e2', aborted: false },
      { envelopeId: 'never-seen', aborted: false },
    ]);
    assert.equal(signals.e1.aborted, true);
    assert.equal(signals.e1.reason?.name, 'AbortError');
    assert.equal(signals.e2.aborted, false, 'a handler that had finished is not aborted');
    assert.deepEqual(t.clock.pending().filter((d) => d <= 3000), [], 'the ack timer of e1 went with the cancel');
    await t.clock.advance(5000);
    finishSlow('too late');
    await flush();
    assert.deepEqual(acksOf(t.last()).map((a) => a.envelopeId), ['e2'], 'no ack for a cancelled envelope, neither null nor late');
    // An envelope whose type is "cancel" is an envelope: it has userId and timestamp.
    t.last().message(envelope('e3', 'cancel', {}));
    await flush();
    assert.deepEqual(acksOf(t.last()).at(-1), { type: 'ack', envelopeId: 'e3', result: 'an envelope of type cancel' });
    t.client.close();
  });

  it('a cancel after the ack timeout (the ack is sent) aborts nothing; bookkeeping goes when the ack is decided', async () => {
    const t = setup({ recover: false, ackTimeoutMs: 1000 });
    let signal;
    t.client.subscribe({ type: 'slow' }, (env, ctx) => { signal = ctx.signal; return new Promise(() => {}); });
    await flush();
    t.last().open();
    t.last().message(envelope('s1', 'slow'));
    await t.clock.advance(1000);
    assert.deepEqual(acksOf(t.last()), [{ type: 'ack', envelopeId: 's1', result: null }]);
    t.last().message({ type: 'cancel', envelopeId: 's1' });
    assert.equal(signal.aborted, false);
    assert.deepEqual(t.events.filter(([e]) => e === 'cancel').map(([, x]) => x), [{ envelopeId: 's1', aborted: false }]);
    t.client.close();
  });

  it('holds nothing of an envelope once its handlers finished (the controller can be collected)', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc');
    const t = setup({ recover: false });
    const refs = [];
    t.client.subscribe({ type: 'fast' }, (env, { signal }) => { refs.push(new WeakRef(signal)); return 1; });
    await flush();
    t.last().open();
    for (let i = 0; i < 200; i++) t.last().message(envelope(`f${i}`, 'fast'));
    await flush();
    assert.equal(acksOf(t.last()).length, 200);
    for (let i = 0; i < 5 && refs.some((r) => r.deref() !== undefined); i++) {
      await new Promise((r) => setImmediate(r));
      gc();
    }
    assert.equal(refs.filter((r) => r.deref() !== undefined).length, 0, 'every signal collected');
    t.client.close();
  });
});

describe('ready()', () => {
  it('resolves after the pong of a ping sent after the subscribes, not before', async () => {
    const t = setup({ recover: false });
    t.client.subscribe({ type: 'a' }, () => {});
    let done = false;
    const p = t.client.ready().then(() => { done = true; });
    t.client.subscribe({ type: 'b' }, () => {});  // later in the same tick: covered too
    await flush();
    t.last().open();
    await flush();
    assert.deepEqual(t.last().sent, [JSON.stringify({ type: 'subscribe', filters: [{ type: 'a' }, { type: 'b' }] }), 'ping']);
    assert.equal(done, false);
    t.last().message('pong');
    await p;
    // On the open socket: what is subscribed in the same tick goes before the ping.
    const q = t.client.ready();
    t.client.subscribe({ type: 'c' }, () => {});
    await flush();
    assert.deepEqual(t.last().sent.slice(2), [JSON.stringify({ type: 'subscribe', filters: [{ type: 'c' }] }), 'ping']);
    t.last().message('pong');
    await q;
    t.client.close();
  });

  it('matches pongs to pings in order (a heartbeat\'s pong resolves nothing) and carries a wait over to the next socket', async () => {
    const t = setup({ recover: false });
    await flush();
    t.last().open();
    await t.clock.advance(DEFAULTS.heartbeatMs);  // a heartbeat ping, not answered yet
    let done = false;
    const p = t.client.ready().then(() => { done = true; });
    await flush();
    assert.deepEqual(t.last().sent, ['ping', 'ping']);
    t.last().message('pong');
    await flush();
    assert.equal(done, false, 'that pong answered the heartbeat');
    t.last().serverClose(1006);
    await t.clock.advance(t.clock.pending()[0]);
    t.last().open();
    await flush();
    assert.deepEqual(t.last().sent, ['ping'], 'asked again on the new socket');
    t.last().message('pong');
    await p;
    t.client.close();
  });

  it('rejects when the client is closed or the signal aborts', async () => {
    const t = setup();
    const a = t.client.ready();
    const ac = new AbortController();
    const b = t.client.ready({ signal: ac.signal });
    ac.abort(new Error('gave up'));
    await assert.rejects(b, /gave up/);
    t.client.close();
    await assert.rejects(a, /closed/);
    await assert.rejects(t.client.ready(), /closed/);
  });
});

describe('publish() and devices() on the wire (sections 12 and 13)', () => {
  it('sends receipts, until and cancel only when given, and returns the answer with its devices', async () => {
    const answer = { clientCount: 2, results: ['ok'], devices: [{ device: 'phone', state: 'acked', result: 'ok', ackMs: 3 }, { device: null, state: 'pending' }] };
    const f = fakeFetch(() => ({ status: 200, body: answer }));
    const base = { url: 'ws://h:1/rt', token: 't', userId: 'u', fetch: f.fetch };
    await publish({ ...base, type: 'x' });
    assert.deepEqual(f.calls[0].body, { userId: 'u', type: 'x' }, 'nothing new when nothing asked');
    assert.equal(f.calls[0].url, 'http://h:1/rt/publish');
    const got = await publish({ ...base, receipts: true, until: 'first', cancel: true });
    assert.deepEqual(f.calls[1].body, { userId: 'u', receipts: true, until: 'first', cancel: true });
    assert.deepEqual(got, answer);
    await publish({ ...base, receipts: false, until: 2, cancel: false });
    assert.deepEqual(f.calls[2].body, { userId: 'u', receipts: false, until: 2, cancel: false });
    await publish({ ...base, until: 'all', receipts: undefined });
    assert.deepEqual(f.calls[3].body, { userId: 'u', until: 'all' });
    const bad = fakeFetch(() => ({ status: 400, body: { error: 'until must be "all", "first" or a positive integer' } }));
    await assert.rejects(publish({ ...base, fetch: bad.fetch, until: 0 }),
      (e) => e instanceof BadRequestError && e.status === 400 && /until must be/.test(e.message));
  });

  it('section 15: a key per call; a failed connection is sent again with the same key; 409 waits for the first answer', async () => {
    const base = { url: 'http://h:1', token: 't', userId: 'u' };
    const f = fakeFetch();
    await publish({ ...base, fetch: f.fetch });
    await publish({ ...base, fetch: f.fetch });
    const [k1, k2] = f.calls.map((c) => c.headers['idempotency-key']);
    assert.match(k1, /^[0-9a-f]{32}$/);
    assert.notEqual(k1, k2, 'a fresh key for each call');
    await publish({ ...base, fetch: f.fetch, idempotencyKey: 'order-7' });
    assert.equal(f.calls[2].headers['idempotency-key'], 'order-7');
    await publish({ ...base, fetch: f.fetch, idempotencyKey: false });
    assert.equal(f.calls[3].headers['idempotency-key'], undefined);
    // The connection fails once, then the retry finds the first in flight (409), then its answer.
    let n = 0;
    const flaky = fakeFetch(() => {
      n++;
      if (n === 1) throw new TypeError('fetch failed');
      if (n === 2) return { status: 409, body: { error: 'A request with this Idempotency-Key is in progress' } };
      return { status: 200, body: { clientCount: 1, results: ['ok'] }, headers: { 'idempotent-replayed': 'true' } };
    });
    const got = await publish({ ...base, fetch: flaky.fetch });
    assert.deepEqual(got, { clientCount: 1, results: ['ok'], replayed: true });
    assert.equal(flaky.calls.length, 3);
    assert.equal(new Set(flaky.calls.map((c) => c.headers['idempotency-key'])).size, 1, 'one key for every attempt');
    // Without a key a failed connection is not retried; retries are bounded.
    const down = fakeFetch(() => { throw new TypeError('fetch failed'); });
    await assert.rejects(publish({ ...base, fetch: down.fetch, idempotencyKey: false }), /fetch failed/);
    assert.equal(down.calls.length, 1);
    await assert.rejects(publish({ ...base, fetch: down.fetch, retries: 1 }), /fetch failed/);
    assert.equal(down.calls.length, 3);
    // A first answer of 409 (another caller's publish with this key) is not waited for.
    const busy = fakeFetch(() => ({ status: 409, body: { error: 'A request with this Idempotency-Key is in progress' } }));
    await assert.rejects(publish({ ...base, fetch: busy.fetch, idempotencyKey: 'k' }), (e) => e.status === 409);
    assert.equal(busy.calls.length, 1);
  });

  it('devices(): GET /users/<id>/devices with a bearer token; degraded from the header; errors as publish', async () => {
    const body = { userId: 'a/b c', devices: [{ device: 'phone', since: '2026-01-01T00:00:00.000Z' }] };
    let headers = {};
    const f = fakeFetch(() => ({ status: 200, body, headers }));
    const got = await devices({ url: 'wss://h/rt/', token: 'tok', userId: ' a/b c ', fetch: f.fetch });
    assert.equal(f.calls[0].url, 'https://h/rt/users/a%2Fb%20c/devices', 'one percent-encoded segment, the user trimmed');
    assert.equal(f.calls[0].method, 'GET');
    assert.equal(f.calls[0].headers.authorization, 'Bearer tok');
    assert.equal(f.calls[0].body, undefined);
    assert.deepEqual(got, body, 'no degraded member when the header is absent');
    headers = { 'hopeflow-degraded': 'local-only' };
    assert.deepEqual(await devices({ url: 'http://h:8787/publish', token: 'tok', userId: 'u', fetch: f.fetch }), { ...body, degraded: true });
    assert.equal(f.calls[1].url, 'http://h:8787/users/u/devices', 'a /publish address is taken as the base');
    const denied = fakeFetch(() => ({ status: 401, body: { error: 'Unauthorized' } }));
    await assert.rejects(devices({ url: 'http://h', token: 'x', userId: 'u', fetch: denied.fetch }),
      (e) => e instanceof UnauthorizedError && e.status === 401 && /^devices: 401/.test(e.message));
    await assert.rejects(devices({ url: 'http://h', token: 'x', userId: '  ', fetch: f.fetch }), TypeError);
  });
});

describe('tabDeviceId()', () => {
  // A fresh copy of the module for each case: the id is kept per page (module).
  let n = 0;
  const fresh = () => import(`../../clients/js/src/index.js?tab=${++n}`);

  it('without sessionStorage: one valid id per process and prefix', async () => {
    const { tabDeviceId, isDevice: valid } = await fresh();
    const a = tabDeviceId();
    assert.match(a, /^tab-[0-9a-f]{12}$/);
    assert.equal(tabDeviceId(), a);
    const w = tabDeviceId('worker');
    assert.match(w, /^worker-[0-9a-f]{12}$/);
    assert.ok(valid(tabDeviceId('p'.repeat(51))));
    assert.throws(() => tabDeviceId('p'.repeat(52)), TypeError);
    assert.throws(() => tabDeviceId('with space'), TypeError);
  });

  it('with sessionStorage: the same id after a reload, a new one in a duplicated tab', async () => {
    const store = new Map();
    const listeners = {};
    const sessionStorage = {
      getItem: (k) => (store.has(k) ? store.get(k) : null),
      setItem: (k, v) => store.set(k, String(v)),
      removeItem: (k) => store.delete(k),
    };
    globalThis.sessionStorage = sessionStorage;
    globalThis.addEventListener = (type, fn) => { (listeners[type] ??= []).push(fn); };
    try {
      const first = (await fresh()).tabDeviceId();
      assert.match(first, /^tab-[0-9a-f]{12}$/);
      assert.equal(store.size, 0, 'not in storage while the page lives');
      // Duplicating the tab now copies a storage without it: a new id there.
      const duplicate = (await fresh()).tabDeviceId();
      assert.notEqual(duplicate, first);
      store.clear();
      // A reload: pagehide writes it back, the next page takes it.
      listeners.pagehide[0]({});
      assert.equal(store.get('hopeflow.device.tab'), first, 'pagehide writes the id back');
      store.set('hopeflow.device.tab', first);
      assert.equal((await fresh()).tabDeviceId(), first, 'reloaded: the same id');
      assert.equal(store.has('hopeflow.device.tab'), false, 'taken out again while the reloaded page lives');
      assert.notEqual((await fresh()).tabDeviceId(), first, 'so a tab duplicated from it gets its own');
      store.set('hopeflow.device.tab', 'not valid');
      assert.match((await fresh()).tabDeviceId(), /^tab-[0-9a-f]{12}$/, 'garbage in storage is replaced');
      globalThis.sessionStorage = { getItem() { throw new Error('SecurityError'); } };
      assert.match((await fresh()).tabDeviceId(), /^tab-[0-9a-f]{12}$/, 'blocked storage: a per-process id');
    } finally {
      delete globalThis.sessionStorage;
      delete globalThis.addEventListener;
    }
  });
});
