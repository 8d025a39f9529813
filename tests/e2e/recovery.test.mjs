// docs/protocol.md section 7 on one node: offsets, history and `recover`.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, dropAndRecover, envelopesIn, publish, recover, recoveredIn, startServer } from './helpers.mjs';

// Opts `c` in: recover (with a position when given), then a ping barrier;
// returns every frame before the pong, parsed.
const envelopes = envelopesIn;
const recovered = recoveredIn;

describe('7. recovery on one node', () => {
  let server;
  before(async () => { server = await startServer({ single: true, env: { HISTORY_SIZE: '5' } }); });
  after(async () => { await server.stop(); });

  it('every socket of a user sees the same offsets; envelopes carry theirs last, only after recover', async () => {
    const a = await connect(server, 'offsets');
    const b = await connect(server, 'offsets');
    const plain = await connect(server, 'offsets');
    for (const c of [a, b, plain]) await c.subscribe([{ type: 't' }]);
    const ra = recovered(await recover(a));
    assert.deepEqual(Object.keys(ra), ['type', 'epoch', 'offset', 'recovered']);
    assert.equal(ra.offset, 0);
    assert.equal(ra.recovered, false);
    assert.match(ra.epoch, /^[\x21-\x7e]{1,64}$/);
    await recover(b);
    await publish(server, { userId: 'offsets', type: 't', payload: { n: 1 }, ackTimeoutMs: 0 });
    await publish(server, { userId: 'offsets', type: 't', payload: { n: 2 }, ackTimeoutMs: 0 });
    const fa = [await a.nextJson(), await a.nextJson()];
    const fb = [await b.nextJson(), await b.nextJson()];
    assert.deepEqual(fa.map((e) => e.offset), [1, 2]);
    assert.deepEqual(fb, fa);
    assert.deepEqual(Object.keys(fa[0]), ['envelopeId', 'type', 'userId', 'timestamp', 'payload', 'offset']);
    const p = await plain.next();
    assert.doesNotMatch(p, /"offset":/, 'a socket that never sent recover gets the original bytes');
    await Promise.all([a.close(), b.close(), plain.close()]);
  });

  it('a reconnecting socket gets exactly the matching envelopes it missed, in order, then recovered:true', async () => {
    const { again, frames, epoch } = await dropAndRecover('away', { first: server, onMissed: (r) => assert.equal(r.json.clientCount, 0) });
    assert.deepEqual(envelopes(frames).map((e) => [e.payload, e.offset]), [['m1', 2], ['m2', 4]]);
    assert.deepEqual(recovered(frames), { type: 'recovered', epoch, offset: 4, recovered: true });
    assert.equal(frames.at(-1).type, 'recovered', 'the frame comes after the replay');
    await publish(server, { userId: 'away', type: 'chat', payload: 'live', ackTimeoutMs: 0 });
    assert.deepEqual([(await again.nextJson()).offset], [5], 'then live, above the latest');
    // An ack of a replayed envelope is harmless (its publish is long answered).
    again.ack(envelopes(frames)[0].envelopeId, 'late');
    await again.barrier();
    await again.close();
  });

  it('answers recovered:false for another epoch, a position the history no longer reaches, or one never reached', async () => {
    const c = await connect(server, 'lossy');
    await c.subscribe([{ type: 't' }]);
    const { epoch } = recovered(await recover(c));
    await c.close();
    for (let i = 0; i < 8; i++) await publish(server, { userId: 'lossy', type: 't', payload: i });  // HISTORY_SIZE 5: 1..3 gone
    const cases = [
      [{ epoch: 'some-other-epoch', offset: 7 }, 0],
      [{ epoch, offset: 1 }, 5],  // 2 and 3 are gone; 4..8 are sent, but the answer is honest
      [{ epoch, offset: 99 }, 0],
    ];
    for (const [from, replayed] of cases) {
      const s = await connect(server, 'lossy');
      await s.subscribe([{ type: 't' }]);
      const frames = await recover(s, from);
      assert.equal(envelopes(frames).length, replayed, JSON.stringify(from));
      assert.deepEqual(recovered(frames), { type: 'recovered', epoch, offset: 8, recovered: false });
      await s.close();
    }
    const s = await connect(server, 'lossy');
    await s.subscribe([{ type: 't' }]);
    const frames = await recover(s, { epoch, offset: 3 });  // exactly what is kept
    assert.deepEqual(envelopes(frames).map((e) => e.offset), [4, 5, 6, 7, 8]);
    assert.equal(recovered(frames).recovered, true);
    await s.close();
  });

  it('does not repeat envelopes a socket got live before its recover; the ping barrier holds around recover', async () => {
    const c = await connect(server, 'early');
    await c.subscribe([{ type: 't' }]);
    const { epoch } = recovered(await recover(await connect(server, 'early')));
    await publish(server, { userId: 'early', type: 't', payload: 'live-before', ackTimeoutMs: 0 });
    const live = await c.nextJson();
    assert.equal(live.offset, undefined);
    const frames = await recover(c, { epoch, offset: 0 });
    assert.deepEqual(envelopes(frames), [], 'offset 1 reached this socket already');
    assert.equal(recovered(frames).recovered, true);
    // recover is handled in order: a subscribe sent before it counts for the replay.
    c.send({ type: 'subscribe', filters: [{ type: 'u' }] });
    await c.barrier();
    await c.close();
  });

  it('a restart starts new epochs: old positions answer recovered:false', async () => {
    const one = await startServer({ single: true });
    let c = await connect(one, 'restart');
    const { epoch } = recovered(await recover(c));
    await one.stop();
    const two = await startServer({ single: true });
    c = await connect(two, 'restart');
    const r = recovered(await recover(c, { epoch, offset: 0 }));
    assert.notEqual(r.epoch, epoch);
    assert.equal(r.recovered, false);
    await c.close();
    await two.stop();
  });

  it('with HISTORY_SIZE=0 recover still gives offsets, and only the latest position is recovered', async () => {
    const off = await startServer({ single: true, env: { HISTORY_SIZE: '0' } });
    const c = await connect(off, 'nohistory');
    await c.subscribe([{ type: 't' }]);
    const { epoch } = recovered(await recover(c));
    await publish(off, { userId: 'nohistory', type: 't', ackTimeoutMs: 0 });
    assert.equal((await c.nextJson()).offset, 1);
    await c.close();
    await publish(off, { userId: 'nohistory', type: 't' });
    for (const [offset, ok] of [[1, false], [2, true]]) {
      const s = await connect(off, 'nohistory');
      await s.subscribe([{ type: 't' }]);
      const frames = await recover(s, { epoch, offset });
      assert.deepEqual(envelopes(frames), []);
      assert.equal(recovered(frames).recovered, ok);
      await s.close();
    }
    await off.stop();
  });
});

describe('7. a replay longer than MAX_QUEUED_MESSAGES', () => {
  let server;
  before(async () => { server = await startServer({ single: true, env: { HISTORY_SIZE: '4000' } }); });
  after(async () => { await server.stop(); });

  // The replay's frames are queued in one turn; what the kernel takes does
  // not count against the socket's limits (1,024 frames by default), so a
  // replay the kernel can take whole is not closed as a slow consumer.
  it('is sent whole, then recovered:true, and the socket stays open', async () => {
    const c = await connect(server, 'long-replay');
    await c.subscribe([{ type: 'r' }]);
    const { epoch } = recovered(await recover(c));
    await c.close();
    const total = 3000;
    for (let i = 0; i < total; i += 8)
      await Promise.all([...Array(8).keys()].map((k) =>
        publish(server, { userId: 'long-replay', type: 'r', payload: i + k, ackTimeoutMs: 0 })));
    const again = await connect(server, 'long-replay');
    await again.subscribe([{ type: 'r' }]);
    const frames = await recover(again, { epoch, offset: 0 });
    assert.deepEqual(envelopes(frames).map((e) => e.offset), [...Array(total).keys()].map((i) => i + 1));
    assert.deepEqual(recovered(frames), { type: 'recovered', epoch, offset: total, recovered: true });
    await publish(server, { userId: 'long-replay', type: 'r', payload: 'live', ackTimeoutMs: 0 });
    assert.equal((await again.nextJson()).offset, total + 1, 'still open, and live after the replay');
    await again.close();
  });
});
