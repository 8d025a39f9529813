// One client cannot monopolise a worker: a socket that streams messages as
// fast as it can is served in bounded slices, so another user's publishes on
// the same worker thread keep their usual latency.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { connect, publish, SANITIZED, sleep, startServer, token } from './helpers.mjs';

// A masked client text frame (mask key 0).
function textFrame(text) {
  const data = Buffer.from(text);
  const head = data.length < 126 ? Buffer.from([0x81, 0x80 | data.length]) : Buffer.from([0x81, 0x80 | 126, data.length >> 8, data.length & 0xff]);
  return Buffer.concat([head, Buffer.alloc(4), data]);
}

async function flooder(server, user) {
  const t = await token(user);
  const s = net.connect(server.port, '127.0.0.1');
  await new Promise((resolve) => s.once('connect', resolve));
  s.write(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer ${t}\r\n\r\n`);
  await new Promise((resolve) => s.once('data', resolve));  // the 101
  s.on('data', () => {});
  s.on('error', () => {});
  // The same subscribe again and again: each one is parsed and looked up,
  // and adds nothing, so the socket's state and outbound queue stay small.
  const one = textFrame(JSON.stringify({ type: 'subscribe', filters: [{ type: 'flood', room: 'r1', user: 'x' }] }));
  const burst = Buffer.concat(Array.from({ length: Math.ceil((1 << 20) / one.length) }, () => one));
  let sent = 0;
  let stop = false;
  const pump = () => {
    while (!stop) {
      sent += burst.length;
      if (!s.write(burst)) return s.once('drain', pump);
    }
  };
  pump();
  return { stop: () => { stop = true; s.destroy(); }, sent: () => sent };
}

describe('fairness', () => {
  it('a flooding socket delays another user on the same worker by a few milliseconds only', { timeout: 30000 }, async () => {
    const server = await startServer({ env: { THREADS: '1' } });
    const c = await connect(server, 'quiet');
    await c.subscribe([{ type: 't' }]);
    c.autoAck(() => 'ok');
    const times = async (n) => {
      const ms = [];
      for (let i = 0; i < n; i++) {
        const r = await publish(server, { userId: 'quiet', type: 't' });
        assert.deepEqual(r.json, { clientCount: 1, results: ['ok'] });
        ms.push(r.ms);
      }
      return ms.sort((a, b) => a - b);
    };
    const quiet = await times(50);
    const f = await flooder(server, 'flooder');
    await sleep(300);  // the flood is under way
    const flooded = await times(200);
    const metrics = await (await fetch(`${server.http}/metrics`)).text();
    f.stop();
    const received = Number(/hopeflow_websocket_bytes_received_total (\d+)/.exec(metrics)[1]);
    const p = (a, q) => a[Math.min(a.length - 1, Math.floor(a.length * q))];
    console.log(`fairness: publish round trip without flood p50 ${p(quiet, 0.5).toFixed(2)} ms, ` +
      `during a flood of ${(received / 1e6).toFixed(1)} MB read by the server: p50 ${p(flooded, 0.5).toFixed(2)} ms, ` +
      `p99 ${p(flooded, 0.99).toFixed(2)} ms, max ${flooded[flooded.length - 1].toFixed(2)} ms`);
    assert.ok(received > 5e6, `the flood was read (${received} bytes): the test measured something`);
    // Before the read budget one flooding socket held the worker for seconds.
    const bound = SANITIZED ? 250 : 50;
    assert.ok(p(flooded, 0.99) < bound, `p99 ${p(flooded, 0.99).toFixed(1)} ms during the flood`);
    await c.close();
    assert.equal(await server.stop(), 0);
  });
});
