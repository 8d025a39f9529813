// The WebSocket layer itself (RFC 6455), which this server implements: the
// opening handshake, control frames, fragmentation, and the close codes for
// broken frames. Driven by `ws` and by raw sockets where `ws` is too polite.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { connect, publish, startServer, token } from './helpers.mjs';

let server;
before(async () => { server = await startServer({ env: { MAX_MESSAGE_BYTES: '1024' } }); });
after(async () => { await server.stop(); });

// A masked client frame with a random mask key.
export function frame(firstByte, payload, { masked = true } = {}) {
  const data = Buffer.from(payload);
  const len = data.length;
  const head = len < 126 ? Buffer.from([firstByte, (masked ? 0x80 : 0) | len])
    : Buffer.from([firstByte, (masked ? 0x80 : 0) | 126, len >> 8, len & 0xff]);
  if (!masked) return Buffer.concat([head, data]);
  const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const body = Buffer.from(data.map((b, i) => b ^ mask[i % 4]));
  return Buffer.concat([head, mask, body]);
}

// Opens a raw upgraded connection; `early` is sent in the same write as the request.
async function rawSocket(user, early = Buffer.alloc(0)) {
  const t = await token(user);
  const s = net.connect(server.port, '127.0.0.1');
  await new Promise((r) => s.once('connect', r));
  const req = `GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer ${t}\r\n\r\n`;
  s.write(Buffer.concat([Buffer.from(req), early]));
  let buf = Buffer.alloc(0);
  const waiters = [];
  s.on('data', (d) => { buf = Buffer.concat([buf, d]); waiters.splice(0).forEach((w) => w()); });
  const ended = new Promise((r) => s.on('close', r));
  const until = async (pred) => {
    const deadline = Date.now() + 3000;
    while (!pred(buf)) {
      if (Date.now() > deadline) throw new Error(`timeout; got ${buf.toString('latin1')}`);
      await new Promise((r) => { waiters.push(r); setTimeout(r, 50); });
    }
  };
  await until((b) => b.includes('\r\n\r\n'));
  const head = buf.subarray(0, buf.indexOf('\r\n\r\n') + 4).toString();
  buf = buf.subarray(buf.indexOf('\r\n\r\n') + 4);
  return { s, head, ended, until, frames: () => parseFrames(buf) };
}

function parseFrames(b) {
  const out = [];
  let p = 0;
  while (b.length - p >= 2) {
    let len = b[p + 1] & 0x7f, h = 2;
    if (len === 126) { len = b.readUInt16BE(p + 2); h = 4; }
    if (b.length - p < h + len) break;
    out.push({ op: b[p] & 0x0f, payload: b.subarray(p + h, p + h + len) });
    p += h + len;
  }
  return out;
}

describe('WebSocket layer', () => {
  it('answers the RFC 6455 handshake with the right accept key', async () => {
    const c = await rawSocket('hs');
    assert.match(c.head, /^HTTP\/1\.1 101 /);
    assert.match(c.head, /Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/);
    c.s.destroy();
  });

  it('keeps frames a client sent right behind its upgrade request', async () => {
    const early = Buffer.concat([frame(0x81, '{"type":"subscribe","filters":[{"type":"e"}]}'), frame(0x81, 'ping')]);
    const c = await rawSocket('early-bird', early);
    await c.until((b) => parseFrames(b).length >= 1);
    assert.equal(c.frames()[0].payload.toString(), 'pong');
    const r = await publish(server, { userId: 'early-bird', type: 'e', ackTimeoutMs: 0 });
    assert.equal(r.json.clientCount, 1);
    c.s.destroy();
  });

  it('refuses a bad handshake with 400 and a wrong version with 426', async () => {
    const t = await token('hs');
    const ask = (headers) => new Promise((resolve) => {
      const s = net.connect(server.port, '127.0.0.1', () => s.write(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nAuthorization: Bearer ${t}\r\n${headers}\r\n`));
      let d = '';
      s.on('data', (x) => { d += x; });
      s.on('close', () => resolve(d));
    });
    assert.match(await ask('Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n'), /^HTTP\/1\.1 400 /);
    const v = await ask('Connection: Upgrade\r\nSec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n');
    assert.match(v, /^HTTP\/1\.1 426 /);
    assert.match(v, /Sec-WebSocket-Version: 13/i);
  });

  it('answers a ping control frame with a pong carrying the same payload', async () => {
    const c = await connect(server, 'pinger-frame');
    const pong = new Promise((r) => c.ws.once('pong', r));
    c.ws.ping('hello');
    assert.equal((await pong).toString(), 'hello');
    await c.close();
  });

  it('reassembles fragmented text messages', async () => {
    const c = await connect(server, 'fragments');
    c.ws.send('{"type":"subscribe",', { fin: false });
    c.ws.send('"filters":[{"type":"f"}]}', { fin: true });
    await c.barrier();
    const r = await publish(server, { userId: 'fragments', type: 'f', ackTimeoutMs: 0 });
    assert.equal(r.json.clientCount, 1);
    await c.close();
  });

  it('closes with 1009 above MAX_MESSAGE_BYTES, 1007 on invalid UTF-8, 1002 on an unmasked frame', async () => {
    const big = await connect(server, 'big');
    big.send('x'.repeat(2000));
    assert.equal((await big.closed).code, 1009);

    const bad = await rawSocket('bad-utf8', frame(0x81, Buffer.from([0xc3, 0x28])));
    await bad.until((b) => parseFrames(b).length >= 1);
    const [close] = bad.frames();
    assert.equal(close.op, 8);
    assert.equal(close.payload.readUInt16BE(0), 1007);
    await bad.ended;

    const unmasked = await rawSocket('unmasked', frame(0x81, 'ping', { masked: false }));
    await unmasked.until((b) => parseFrames(b).length >= 1);
    assert.equal(unmasked.frames()[0].payload.readUInt16BE(0), 1002);
    await unmasked.ended;

    // Everyone else is unaffected.
    const fine = await connect(server, 'fine');
    await fine.barrier();
    await fine.close();
  });
});
