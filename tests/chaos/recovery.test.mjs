// Recovery under chaos (docs/protocol.md section 7): one client whose TCP
// connection is cut at random moments while publishes flow at a steady rate,
// reconnecting to the other node each time with `recover`; once in the
// middle Redis is killed and restarted without its data. At the end the
// client must hold every matching envelope exactly once and in order, except
// where the server said plainly `recovered:false`.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, sleep, startRedis, startServer, token, WebSocket } from '../e2e/helpers.mjs';

const CYCLES = Number(process.env.CHAOS_RECOVERY_CYCLES ?? 100);

describe('recovery chaos', () => {
  it(`${CYCLES} cuts while publishing: no gap and no duplicate unless announced, never a false recovered:true`, { timeout: 240000 }, async () => {
    const redisPort = await freePort();
    let redis = await startRedis(redisPort);
    const env = (id) => ({ REDIS_URL: `redis://127.0.0.1:${redisPort}`, NODE_ID: id, HISTORY_SIZE: '1000', HEARTBEAT_INTERVAL_MS: '1000' });
    const nodes = [await startServer({ single: true, env: env('rc-a') }), await startServer({ single: true, env: env('rc-b') })];
    const ready = async (n) => (await fetch(`${n.http}/readyz`).catch(() => ({ status: 0 }))).status === 200;
    const waitReady = async () => { for (let i = 0; i < 600; i++) { if ((await Promise.all(nodes.map(ready))).every(Boolean)) return; await sleep(25); } throw new Error('not ready'); };
    await waitReady();
    const user = 'roaming';
    const tok = await token(user);
    const pubTok = await token('publisher');

    // --- the publisher: matching envelopes carry seq 1, 2, ...; others are noise ---
    let seq = 0, noise = 0, stopping = false, publishErrors = 0;
    const published = new Map();  // seq -> the node it went through, and its degraded header
    const publisher = (async () => {
      for (let i = 0; !stopping; i++) {
        const n = nodes[i % 2];
        const matching = i % 4 !== 3;
        const body = matching ? { userId: user, type: 'r', payload: { seq: seq + 1 }, ackTimeoutMs: 0 } : { userId: user, type: 'x', payload: ++noise, ackTimeoutMs: 0 };
        try {
          const r = await fetch(`${n.http}/publish`, { method: 'POST', headers: { authorization: `Bearer ${pubTok}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
          await r.text();
          if (r.status !== 200) publishErrors++;
          else if (matching) { seq++; published.set(seq, `${i % 2}${r.headers.get('hopeflow-degraded') ? `:${r.headers.get('hopeflow-degraded')}` : ''}`); }
        } catch { publishErrors++; }
        await sleep(15);
      }
    })();

    // --- the client ---
    const figures = { cycles: 0, received: 0, replayed: 0, duplicates: 0, outOfOrder: 0, recoveredTrue: 0, recoveredFalse: 0, falseTrue: 0, announcedGaps: 0, epochs: new Set() };
    let lastSeq = 0;           // the highest seq held
    let lastNumbered = 0;      // the highest seq held that came with an offset (the position's side)
    let position = null;       // { epoch, offset } of the last frame or envelope
    let afterTrue = false;     // the next seq must follow lastSeq (a recovered:true was given)
    let epochSeq = { epoch: null, seq: 0 };  // the highest seq held in the current epoch
    let gapFrom = null;        // lastNumbered when a recovered:false came: seqs up to the next one may be missing
    const gaps = [];           // [from, to): seqs the server said it could not vouch for
    const seen = new Set();
    const firstSeen = new Map();  // seq -> where it came first (printed with a duplicate)
    const trace = [];             // per session: node, position asked, frames, envelopes (printed on failure)
    let sessions = 0;
    function onEnvelope(e, replay) {
      // An envelope that reached the socket between its subscribe and its
      // recover carries no offset (docs/protocol.md section 7): it moves no position and
      // stands outside the offset order (the replay may still bring older
      // ones after it), but it counts for duplicates and gaps.
      const numbered = typeof e.offset === 'number';
      if (numbered) position = { epoch: position?.epoch, offset: e.offset };
      if (e.type !== 'r') return;
      const s = e.payload.seq;
      if (seen.has(s)) {
        figures.duplicates++;
        console.log(`duplicate seq ${s}: first ${JSON.stringify(firstSeen.get(s))}, again ${JSON.stringify({ session: sessions, epoch: position?.epoch, offset: e.offset, replay })}`);
        return;
      }
      seen.add(s);
      firstSeen.set(s, { session: sessions, epoch: position?.epoch, offset: e.offset, replay });
      trace.at(-1)?.events.push(`${replay ? 'r' : ''}${s}@${e.offset}`);
      // Order is promised within an epoch; a recovered:false frame (a new
      // epoch) says the stream was broken, and what follows may have been
      // delivered by another path (a node delivering alone while Redis was away).
      if (epochSeq.epoch !== position?.epoch) epochSeq = { epoch: position?.epoch, seq: 0 };
      if (numbered && s < epochSeq.seq) {
        figures.outOfOrder++;
        console.log(`out of order: seq ${s} after ${epochSeq.seq} ${JSON.stringify({ session: sessions, epoch: position?.epoch, offset: e.offset, replay, before: firstSeen.get(epochSeq.seq) })}`);
      }
      if (numbered) epochSeq.seq = Math.max(epochSeq.seq, s);
      if (afterTrue && s !== lastSeq + 1) figures.falseTrue++;  // something went missing after a "recovered"
      afterTrue = false;
      if (gapFrom !== null) { gaps.push([gapFrom, s]); gapFrom = null; }
      lastSeq = Math.max(lastSeq, s);
      if (numbered) lastNumbered = Math.max(lastNumbered, s);
      figures.received++;
      if (replay) figures.replayed++;
    }
    async function session(nodeIndex, cutAfterMs) {
      const n = nodes[nodeIndex];
      sessions++;
      trace.push({ session: sessions, node: nodeIndex, asked: position ? `${position.epoch}/${position.offset}` : null, at: Math.round(performance.now() - t0), events: [] });
      const ws = new WebSocket(`${n.ws}/`, { headers: { Authorization: `Bearer ${tok}` } });
      ws.on('error', () => {});
      try { await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('close', reject); ws.once('unexpected-response', reject); }); } catch { return false; }
      let replaying = true;
      ws.on('message', (data) => {
        const text = data.toString();
        if (text === 'pong') return;
        const m = JSON.parse(text);
        if (m.type === 'recovered') {
          trace.at(-1)?.events.push(`[${m.recovered} ${m.epoch}/${m.offset}]`);
          figures.epochs.add(m.epoch);
          if (m.recovered) { figures.recoveredTrue++; } else {
            figures.recoveredFalse++;
            // Not vouched for: everything after the position asked for (an
            // envelope that came without an offset may be later than it).
            if (gapFrom === null) gapFrom = lastNumbered;
          }
          afterTrue = m.recovered;
          position = { epoch: m.epoch, offset: m.offset };
          replaying = false;
          return;
        }
        onEnvelope(m, replaying);
      });
      ws.send(JSON.stringify({ type: 'subscribe', filters: [{ type: 'r' }] }));
      ws.send(JSON.stringify(position?.epoch ? { type: 'recover', epoch: position.epoch, offset: position.offset } : { type: 'recover' }));
      await sleep(cutAfterMs);
      ws._socket?.destroy();  // the network goes: no close frame
      await new Promise((resolve) => { if (ws.readyState === WebSocket.CLOSED) resolve(); else ws.once('close', resolve); });
      return true;
    }

    const t0 = performance.now();
    for (let i = 0; i < CYCLES; i++) {
      if (i === Math.floor(CYCLES / 2)) {
        trace.push({ redisStopped: Math.round(performance.now() - t0) });
        await redis.stop();  // no persistence: its data is gone
        await sleep(500);
        redis = await startRedis(redisPort);
        await waitReady();
        trace.push({ redisReady: Math.round(performance.now() - t0) });
      }
      if (await session(i % 2, 50 + Math.random() * 250)) figures.cycles++;
      await sleep(Math.random() * 100);  // offline for a moment: publishes continue
    }
    stopping = true;
    await publisher;
    await waitReady();
    await session(0, 1000);  // the last reconnect collects the tail
    const ms = performance.now() - t0;
    const missing = [];
    for (let s = 1; s <= seq; s++) if (!seen.has(s)) missing.push(s);
    const unexplained = missing.filter((s) => !gaps.some(([from, to]) => s > from && s < to));
    figures.announcedGaps = gaps.length;
    if (unexplained.length || figures.outOfOrder) {
      const near = (t) => t.events?.some((ev) => { const q = Number(/(\d+)@/.exec(ev)?.[1]); return Math.abs(q - (unexplained[0] ?? q)) < 40; });
      for (const t of trace) if (!unexplained.length || t.redisStopped || t.redisReady || near(t)) console.log(`trace: ${JSON.stringify(t)}`);
      if (unexplained.length) console.log(`unexplained, published through: ${unexplained.map((q) => `${q}:${published.get(q)}`).join(' ')}`);
    }
    console.log(`recovery chaos figures: ${JSON.stringify({ ...figures, epochs: figures.epochs.size, published: seq, noise, missing: missing.length, unexplained: unexplained.length, publishErrors, seconds: (ms / 1000).toFixed(1) })}`);

    assert.ok(figures.cycles >= CYCLES * 0.9, `${figures.cycles} of ${CYCLES} reconnects worked`);
    assert.equal(figures.duplicates, 0, 'an envelope twice');
    assert.equal(figures.outOfOrder, 0, 'envelopes out of order');
    assert.equal(figures.falseTrue, 0, 'a recovered:true followed by a gap');
    assert.ok(figures.recoveredFalse >= 1, 'the Redis restart was announced');
    assert.ok(figures.epochs.size >= 2, 'a new epoch after Redis lost its data');
    // Every envelope is there but in the gaps the server announced (the
    // first recover, and the Redis outage).
    assert.deepEqual(unexplained, [], 'envelopes missing without a recovered:false');
    assert.ok(figures.recoveredTrue >= CYCLES * 0.7, `${figures.recoveredTrue} cycles recovered`);
    for (const n of nodes) assert.equal(await n.stop(), 0);
    await redis.stop();
  });
});
