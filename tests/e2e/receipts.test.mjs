// docs/protocol.md sections 11-13: devices (one socket per device, 4002
// replaced), publish receipts, `until` and `cancel`, and the roster. With
// HOPEFLOW_CLUSTER=1 (make e2e-cluster, e2e-rediscluster) sockets are on one
// node and publishes and roster queries go through the other.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, connectDevice, publish, refusedUpgrade, roster, sleep, startServer, token } from './helpers.mjs';

describe('11-13. devices, receipts and the roster', () => {
  let server;
  before(async () => { server = await startServer(); });
  after(async () => { await server.stop(); });

  it('11: the device comes from the token claim, else the query parameter; bad ones are refused', async () => {
    const s = await connectDevice(server, 'dev-user', 'phone-1');
    const byClaim = await connect(server, await token('dev-user', { claims: { device: 'from-claim' } }), { path: '/?device=ignored' });
    const plain = await connect(server, 'dev-user');
    const r = await roster(server, 'dev-user');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('access-control-allow-methods'), 'GET,OPTIONS');
    assert.deepEqual(r.json.devices.map((d) => d.device).sort(), [null, 'from-claim', 'phone-1'].sort());
    for (const d of r.json.devices) assert.match(d.since, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.deepEqual(r.json.devices.map((d) => d.since), r.json.devices.map((d) => d.since).sort(), 'ordered by since');
    for (const bad of ['', ' a', 'x'.repeat(65), 'caf%C3%A9']) {
      const t = await token('dev-user');
      const out = await refusedUpgrade(server, { headers: { authorization: `Bearer ${t}` }, path: `/?device=${bad}` });
      assert.equal(out.status, 400, `device=${bad}`);
      assert.equal(out.body, 'Bad Request');
    }
    // The parameter must be a device name whenever present, even next to a claim.
    const claimed = await token('dev-user', { claims: { device: 'fine' } });
    assert.equal((await refusedUpgrade(server, { headers: { authorization: `Bearer ${claimed}` }, path: '/?device=%20' })).status, 400);
    for (const claim of [7, true, { a: 1 }, ['x'], '']) {
      const t = await token('dev-user', { claims: { device: claim } });
      const out = await refusedUpgrade(server, { headers: { authorization: `Bearer ${t}` }, path: '/?device=fine' });
      assert.equal(out.status, 401, `claim ${JSON.stringify(claim)}`);
    }
    for (const c of [s, byClaim, plain]) await c.close();
  });

  it('11: a second socket of a device replaces the first (4002), and a publish stops waiting for it', async () => {
    const old = await connectDevice(server, 'rep-user', 'phone');
    await old.subscribe([{ type: 'm' }]);
    const other = await connect(server, 'rep-user');
    await other.subscribe([{ type: 'm' }]);
    other.autoAck(() => 'other');
    // The old socket never acks: the publish would wait the full 4 s for it.
    const pending = publish(server, { userId: 'rep-user', type: 'm', ackTimeoutMs: 4000, receipts: true });
    await old.next();
    await sleep(100);
    const fresh = await connectDevice(server, 'rep-user', 'phone');
    const closed = await old.closed;
    assert.deepEqual(closed, { code: 4002, reason: 'replaced' });
    const r = await pending;
    assert.ok(r.ms < 2000, `answered ${Math.round(r.ms)} ms after the publish, not at the deadline`);
    assert.equal(r.json.clientCount, 2);
    assert.deepEqual(r.json.results, ['other']);
    assert.deepEqual(r.json.devices.map((d) => [d.device, d.state]), [[null, 'acked'], ['phone', 'gone']]);
    const now = await roster(server, 'rep-user');
    assert.deepEqual(now.json.devices.map((d) => d.device).sort(), [null, 'phone'].sort());
    await fresh.close(); await other.close();
  });

  it('12: receipts list every target: acked first in ack order with result and ackMs, then pending, then gone', async () => {
    const fast = await connectDevice(server, 'rc-user', 'fast');
    const slow = await connectDevice(server, 'rc-user', 'slow');
    const silent = await connectDevice(server, 'rc-user', 'silent');
    const nameless = await connect(server, 'rc-user');
    const quitter = await connectDevice(server, 'rc-user', 'quitter');
    for (const c of [fast, slow, silent, nameless, quitter]) await c.subscribe([{ type: 'm' }]);
    fast.autoAck(() => ({ by: 'fast' }));
    nameless.autoAck(() => 'nameless');
    slow.auto = (m) => { const e = JSON.parse(m); setTimeout(() => slow.ack(e.envelopeId), 150); };
    quitter.auto = () => { quitter.ws.close(); };
    silent.auto = () => {};
    const r = await publish(server, { userId: 'rc-user', type: 'm', ackTimeoutMs: 800, receipts: true });
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(r.json), ['clientCount', 'results', 'devices']);
    assert.equal(r.json.clientCount, 5);
    assert.equal(r.json.devices.length, 5);
    const states = r.json.devices.map((d) => d.state);
    assert.deepEqual(states, ['acked', 'acked', 'acked', 'pending', 'gone']);
    const acked = r.json.devices.slice(0, 3);
    assert.deepEqual(acked.map((d) => d.result), r.json.results, 'results[i] is devices[i].result');
    assert.equal(acked[2].device, 'slow');
    assert.equal(acked[2].result, null, 'an ack without result has result null');
    for (const d of acked) assert.ok(Number.isInteger(d.ackMs) && d.ackMs >= 0 && d.ackMs < 800);
    assert.ok(acked[2].ackMs >= 140, `the slow ack's ackMs ${acked[2].ackMs}`);
    assert.deepEqual(r.json.devices.slice(3).map((d) => [d.device, d.state, 'result' in d, 'ackMs' in d]), [['silent', 'pending', false, false], ['quitter', 'gone', false, false]]);
    for (const c of [fast, slow, silent, nameless]) await c.close();
  });

  it('12: without the new members the answer is section 5\'s, byte for byte', async () => {
    const s = await connectDevice(server, 'plain-user', 'phone');
    await s.subscribe([{ type: 'm' }]);
    s.autoAck(() => 1);
    const r = await publish(server, { userId: 'plain-user', type: 'm', receipts: false });
    assert.equal(r.text, '{"clientCount":1,"results":[1]}');
    await s.close();
  });

  it('12: bad values of receipts, until and cancel get 400 with the exact message, and nothing is delivered', async () => {
    const s = await connect(server, 'bad-opts');
    await s.subscribe([{ type: 'm' }]);
    const cases = [
      [{ receipts: 'yes' }, 'receipts must be a boolean'],
      [{ receipts: null }, 'receipts must be a boolean'],
      [{ cancel: 1 }, 'cancel must be a boolean'],
      [{ until: 'ALL' }, 'until must be "all", "first" or a positive integer'],
      [{ until: 'First' }, 'until must be "all", "first" or a positive integer'],
      [{ until: 0 }, 'until must be "all", "first" or a positive integer'],
      [{ until: -1 }, 'until must be "all", "first" or a positive integer'],
      [{ until: 1.5 }, 'until must be "all", "first" or a positive integer'],
      [{ until: null }, 'until must be "all", "first" or a positive integer'],
      [{ until: true }, 'until must be "all", "first" or a positive integer'],
    ];
    for (const [extra, message] of cases) {
      const r = await publish(server, { userId: 'bad-opts', type: 'm', ...extra });
      assert.equal(r.status, 400, JSON.stringify(extra));
      assert.deepEqual(r.json, { error: message });
    }
    // userId first: its error wins over a bad option.
    assert.deepEqual((await publish(server, { receipts: 'x' })).json, { error: 'userId is required' });
    s.send('ping');
    assert.equal(await s.next(), 'pong', 'nothing was delivered');
    await s.close();
  });

  it('12: until answers once enough targets acked; cancel goes to named targets that did not ack, once', async () => {
    const acker = await connectDevice(server, 'until-user', 'tablet');
    const late = await connectDevice(server, 'until-user', 'phone');
    const nameless = await connect(server, 'until-user');
    for (const c of [acker, late, nameless]) await c.subscribe([{ type: 'n' }]);
    acker.autoAck(() => 'read');
    const lateFrames = [], namelessFrames = [], ackerFrames = [];
    late.auto = (m) => lateFrames.push(JSON.parse(m));
    nameless.auto = (m) => namelessFrames.push(JSON.parse(m));
    const seenByAcker = acker.auto;
    acker.auto = (m) => { ackerFrames.push(JSON.parse(m)); seenByAcker(m); };
    const r = await publish(server, { userId: 'until-user', type: 'n', ackTimeoutMs: 5000, until: 'first', cancel: true, receipts: true });
    assert.ok(r.ms < 1500, `answered in ${Math.round(r.ms)} ms, at the first ack`);
    assert.equal(r.json.clientCount, 3);
    assert.deepEqual(r.json.results, ['read']);
    assert.deepEqual(r.json.devices.map((d) => [d.device, d.state]).slice(0, 1), [['tablet', 'acked']]);
    assert.deepEqual(r.json.devices.slice(1).map((d) => d.state), ['pending', 'pending']);
    await sleep(300);
    const id = lateFrames[0].envelopeId;
    assert.deepEqual(lateFrames.slice(1), [{ type: 'cancel', envelopeId: id }], 'the named socket that did not ack is told, once');
    assert.equal(namelessFrames.length, 1, 'a socket without a device never gets cancel');
    assert.equal(ackerFrames.length, 1, 'the acker never gets cancel');
    // A late ack changes nothing (the publish was answered).
    late.ack(id, 'too late');
    // until n: answered when 2 of 3 acked.
    for (const c of [late, nameless]) c.autoAck(() => 'ok');
    const two = await publish(server, { userId: 'until-user', type: 'n', ackTimeoutMs: 5000, until: 2 });
    assert.equal(two.json.clientCount, 3);
    assert.ok(two.json.results.length >= 2);
    assert.deepEqual(Object.keys(two.json), ['clientCount', 'results']);
    for (const c of [acker, late, nameless]) await c.close();
  });

  it('12: cancel with ackTimeoutMs 0 (fire-and-forget) tells every named target at once', async () => {
    const named = await connectDevice(server, 'ff-user', 'phone');
    const nameless = await connect(server, 'ff-user');
    for (const c of [named, nameless]) await c.subscribe([{ type: 'm' }]);
    const r = await publish(server, { userId: 'ff-user', type: 'm', ackTimeoutMs: 0, cancel: true, receipts: true });
    assert.deepEqual(r.json.devices.map((d) => d.state), ['pending', 'pending']);
    const env = await named.nextJson();
    assert.deepEqual(await named.nextJson(), { type: 'cancel', envelopeId: env.envelopeId });
    await nameless.nextJson();
    nameless.send('ping');
    assert.equal(await nameless.next(), 'pong', 'no cancel to a socket without a device');
    for (const c of [named, nameless]) await c.close();
  });

  it('13: the roster is authorised like a publish, answers OPTIONS, and 404s other methods', async () => {
    assert.equal((await roster(server, 'nobody-here', { tok: null })).status, 401);
    const empty = await roster(server, 'nobody-here');
    assert.equal(empty.status, 200);
    assert.deepEqual(empty.json, { userId: 'nobody-here', devices: [] });
    const weird = await connectDevice(server, 'a/b c', 'x');
    const slash = await roster(server, 'a/b c');
    assert.deepEqual(slash.json.userId, 'a/b c', '%2F stays part of the id');
    assert.deepEqual(slash.json.devices.map((d) => d.device), ['x']);
    await weird.close();
    const pre = await fetch(`${server.http}/users/u/devices`, { method: 'OPTIONS' });
    assert.equal(pre.status, 204);
    assert.match(pre.headers.get('access-control-allow-methods'), /GET/);
    for (const method of ['POST', 'PUT', 'DELETE']) assert.equal((await roster(server, 'u', { method })).status, 404, method);
    // A closed socket leaves the roster once the server saw the close.
    const s = await connectDevice(server, 'leaver', 'd1');
    await s.close();
    await sleep(100);
    assert.deepEqual((await roster(server, 'leaver')).json.devices, []);
  });
});
