// The SDK against the real server binary for docs/protocol.md sections 11-13:
// sockets that name their device, receipts per device in the publish answer,
// a newer socket of a device replacing the older one (close 4002, no
// reconnect), `until: 'first'` with `cancel: true` aborting the slow
// device's handler, and the roster of who is online. Sockets connect to
// `server.ws` and backends call `server.http` (two nodes with
// HOPEFLOW_CLUSTER=1).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, devices, publish, UnauthorizedError } from '../../clients/js/src/index.js';
import { sleep, startServer, token, WebSocket } from '../e2e/helpers.mjs';
import { until } from './helpers.mjs';

const quick = { backoffInitialMs: 100, backoffMaxMs: 1000, WebSocket };
const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

// A WebSocket class that counts the sockets it made and records what they send.
function recordingWebSocket() {
  const rec = { opened: 0, sent: [] };
  rec.WebSocket = class extends WebSocket {
    constructor(...args) { super(...args); rec.opened++; }
    send(data, ...rest) { rec.sent.push(String(data)); return super.send(data, ...rest); }
  };
  return rec;
}

const byDevice = (a, b) => String(a.device).localeCompare(String(b.device));

describe('SDK: devices, receipts, cancel and the roster (sections 11-13)', () => {
  let server;
  let backend;
  const clients = [];
  const open = async (userId, options = {}) => {
    const c = connect({ url: server.ws, token: await token(userId), ...quick, ...options });
    clients.push(c);
    return c;
  };
  before(async () => {
    server = await startServer();
    backend = await token('backend');
  });
  after(async () => {
    for (const c of clients) c.close();
    await server.stop();
  });

  it('receipts: one entry per target with its device (null without one), acked first in ack order, then pending', async () => {
    const phone = await open('rita', { device: 'phone' });
    const laptop = await open('rita', { device: 'laptop' });
    const plain = await open('rita');
    phone.subscribe({ type: 'note' }, () => 'phone saw it');
    laptop.subscribe({ type: 'note' }, () => 'laptop saw it');
    plain.subscribe({ type: 'note' }, () => 'no device saw it');
    laptop.subscribe({ type: 'late' }, () => sleep(1500).then(() => 'laptop, late'));
    phone.subscribe({ type: 'late' }, () => 'phone, at once');
    await Promise.all([phone.ready(), laptop.ready(), plain.ready()]);
    const pub = { url: server.http, token: backend, userId: 'rita' };

    const answer = await publish({ ...pub, type: 'note', receipts: true });
    assert.equal(answer.clientCount, 3);
    assert.ok(Array.isArray(answer.devices), `no devices in ${JSON.stringify(answer)}`);
    assert.equal(answer.devices.length, 3);
    for (const [i, d] of answer.devices.entries()) {
      assert.equal(d.state, 'acked', JSON.stringify(d));
      assert.ok(Number.isInteger(d.ackMs) && d.ackMs >= 0, JSON.stringify(d));
      assert.deepEqual(d.result, answer.results[i], 'results[i] is devices[i].result');
    }
    assert.deepEqual(answer.devices.map(({ device, result }) => ({ device, result })).sort(byDevice), [
      { device: 'laptop', result: 'laptop saw it' },
      { device: null, result: 'no device saw it' },
      { device: 'phone', result: 'phone saw it' },
    ].sort(byDevice));

    // The laptop's handler outlasts the publish's own deadline: pending.
    const late = await publish({ ...pub, type: 'late', receipts: true, ackTimeoutMs: 300 });
    assert.equal(late.clientCount, 2);
    assert.deepEqual(late.results, ['phone, at once']);
    assert.deepEqual(late.devices.map(({ device, state }) => ({ device, state })), [
      { device: 'phone', state: 'acked' },
      { device: 'laptop', state: 'pending' },
    ]);
    assert.equal(late.devices[1].result, undefined);

    // Without receipts the answer is what it always was.
    assert.deepEqual(Object.keys(await publish({ ...pub, type: 'note' })), ['clientCount', 'results']);
  });

  it('a newer socket of the same device replaces the older: close 4002, state replaced, no reconnect', async () => {
    const rec = recordingWebSocket();
    const first = await open('sam', { device: 'phone', WebSocket: rec.WebSocket });
    const laptop = await open('sam', { device: 'laptop' });
    const events = [];
    first.on('close', (c) => events.push(['close', c.code, c.reason]));
    first.on('replaced', (r) => events.push(['replaced', r.code, r.reason]));
    first.subscribe({ type: 'note' }, () => 'first phone');
    laptop.subscribe({ type: 'note' }, () => 'laptop');
    await Promise.all([first.ready(), laptop.ready()]);

    const second = await open('sam', { device: 'phone' });
    second.subscribe({ type: 'note' }, () => 'second phone');
    await second.ready();
    await until(() => first.state === 'replaced', 'the first phone replaced', 3000);
    assert.deepEqual(events, [['close', 4002, 'replaced'], ['replaced', 4002, 'replaced']]);
    await sleep(1500);  // several backoffs of `quick`
    assert.equal(rec.opened, 1, 'the replaced client never opened another socket');
    assert.equal(first.state, 'replaced');
    assert.equal(laptop.state, 'open', 'another device is left alone');

    const answer = await publish({ url: server.http, token: backend, userId: 'sam', type: 'note', receipts: true });
    assert.equal(answer.clientCount, 2);
    assert.deepEqual(answer.devices.map(({ device, result }) => ({ device, result })).sort(byDevice),
      [{ device: 'laptop', result: 'laptop' }, { device: 'phone', result: 'second phone' }]);
  });

  it('until first + cancel: answered at the first ack; the slow device\'s signal is aborted and it sends no ack', async () => {
    const rec = recordingWebSocket();
    const phone = await open('tia', { device: 'phone' });
    const laptop = await open('tia', { device: 'laptop', WebSocket: rec.WebSocket });
    phone.subscribe({ type: 'alert' }, () => 'phone handled it');
    let seen = null;
    let signal = null;
    laptop.subscribe({ type: 'alert' }, (env, ctx) => {
      seen = env;
      signal = ctx.signal;
      return new Promise((resolve) => {
        const timer = setTimeout(() => resolve('laptop, slowly'), 3000);
        ctx.signal.addEventListener('abort', () => { clearTimeout(timer); resolve('laptop, aborted'); });
      });
    });
    const cancels = [];
    laptop.on('cancel', (c) => cancels.push(c));
    await Promise.all([phone.ready(), laptop.ready()]);

    const t0 = performance.now();
    const answer = await publish({
      url: server.http, token: backend, userId: 'tia', type: 'alert', receipts: true, until: 'first', cancel: true,
    });
    const ms = performance.now() - t0;
    assert.ok(ms < 1500, `answered after ${Math.round(ms)} ms, not at the first ack`);
    assert.deepEqual(answer.results, ['phone handled it']);
    assert.deepEqual(answer.devices?.map(({ device, state }) => ({ device, state })), [
      { device: 'phone', state: 'acked' },
      { device: 'laptop', state: 'pending' },
    ]);
    await until(() => signal?.aborted, 'the laptop handler\'s signal aborted', 3000);
    assert.deepEqual(cancels, [{ envelopeId: seen.envelopeId, aborted: true }]);
    await sleep(300);
    const acks = rec.sent.filter((s) => s.startsWith('{')).map((s) => JSON.parse(s)).filter((m) => m.type === 'ack');
    assert.deepEqual(acks, [], 'no ack for the cancelled envelope');
    assert.equal(laptop.state, 'open');
  });

  it('devices(): every open socket of the user with its device and since; gone once closed', async () => {
    const phone = await open('uma', { device: 'phone' });
    const laptop = await open('uma', { device: 'laptop' });
    await Promise.all([phone.ready(), laptop.ready()]);
    const ask = (userId) => devices({ url: server.http, token: backend, userId });

    const roster = await ask('uma');
    assert.equal(roster.userId, 'uma');
    assert.deepEqual(roster.devices.map((d) => d.device).sort(), ['laptop', 'phone']);
    for (const d of roster.devices) assert.match(d.since, ISO_MS);
    const order = roster.devices.map((d) => [d.since, d.device]);
    assert.deepEqual(order, [...order].sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1)), 'ordered by since, then device');
    assert.equal(roster.degraded, undefined);

    laptop.close();
    await until(async () => (await ask('uma')).devices.length === 1, 'the closed laptop leaving the roster', 3000);
    assert.deepEqual((await ask('uma')).devices.map((d) => d.device), ['phone']);
    assert.deepEqual(await ask('nobody-here'), { userId: 'nobody-here', devices: [] });
    await assert.rejects(devices({ url: server.http, token: 'not-a-jwt', userId: 'uma' }),
      (e) => e instanceof UnauthorizedError && e.status === 401);
  });
});
