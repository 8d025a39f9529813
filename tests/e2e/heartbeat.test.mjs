// Heartbeats: idle sockets are pinged; one that never answers is dropped and
// stops being waited for by a pending publish.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { connect, publish, sleep, startServer, token } from './helpers.mjs';

let server;
before(async () => { server = await startServer({ env: { HEARTBEAT_INTERVAL_MS: '200' } }); });
after(async () => { await server.stop(); });

// A masked text frame (mask key 0).
const text = (s) => { const b = Buffer.from(s); return Buffer.concat([Buffer.from([0x81, 0x80 | b.length, 0, 0, 0, 0]), b]); };

describe('heartbeats', () => {
  it('keeps a client that answers pings (ws does, automatically)', async () => {
    const c = await connect(server, 'hb-alive');
    await sleep(1000);  // five intervals
    await c.barrier();
    await c.close();
  });

  it('drops a client that never answers, and a publish stops waiting for it', async () => {
    const t = await token('hb-dead');
    const s = net.connect(server.port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    let data = Buffer.alloc(0);
    s.on('data', (d) => { data = Buffer.concat([data, d]); });
    const closed = new Promise((r) => s.on('close', r));
    s.write(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer ${t}\r\n\r\n`);
    s.write(text('{"type":"subscribe","filters":[{"type":"t"}]}'));
    s.write(text('ping'));
    const deadline = Date.now() + 2000;
    while (!data.includes('pong') && Date.now() < deadline) await sleep(10);
    assert.ok(data.includes('pong'), 'subscribed');
    // From here on the client reads nothing and answers nothing.
    const r = await publish(server, { userId: 'hb-dead', type: 't' });
    assert.equal(r.json.clientCount, 1);
    assert.deepEqual(r.json.results, []);
    assert.ok(r.ms < 2000, `answered after ${r.ms} ms, not at the 5 s deadline`);
    await closed;
    assert.ok(data.includes(Buffer.from([0x89, 0x00])), 'the server sent a ping frame');
  });
});
