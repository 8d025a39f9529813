// permessage-deflate (RFC 7692): negotiated only when offered, envelopes
// above COMPRESSION_MIN_BYTES compressed (RSV1) and inflating to the same
// text, compressed client messages understood, a deflate bomb closed with
// 1009 before memory grows, COMPRESSION=0 honoured; and the clients people
// use: npm ws and Python's websockets (Debian).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import zlib from 'node:zlib';
import { connect, publish, SANITIZED, sleep, startServer, token, WebSocket } from './helpers.mjs';

// A WebSocket client on a raw TCP socket, to see the frames' bits and bytes.
async function rawClient(server, user, extensions) {
  const sock = net.connect(server.port, '127.0.0.1');
  await once(sock, 'connect');
  const tok = await token(user);
  sock.write(`GET /?token=${tok} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`
    + 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n'
    + (extensions ? `Sec-WebSocket-Extensions: ${extensions}\r\n` : '') + '\r\n');
  let buf = Buffer.alloc(0);
  const waiters = [];
  sock.on('data', (d) => { buf = Buffer.concat([buf, d]); waiters.splice(0).forEach((w) => w()); });
  const more = () => new Promise((r) => waiters.push(r));
  while (buf.indexOf('\r\n\r\n') < 0) await more();
  const end = buf.indexOf('\r\n\r\n') + 4;
  const head = buf.subarray(0, end).toString();
  buf = buf.subarray(end);
  return {
    head,
    sock,
    // The next frame: { fin, rsv1, op, payload }.
    async frame(timeoutMs = 3000) {
      const t = setTimeout(() => waiters.splice(0).forEach((w) => w()), timeoutMs);
      try {
        for (;;) {
          if (buf.length >= 2) {
            let len = buf[1] & 0x7f; let off = 2;
            if (len === 126) { len = buf.length >= 4 ? buf.readUInt16BE(2) : -1; off = 4; }
            if (len === 127) { len = buf.length >= 10 ? Number(buf.readBigUInt64BE(2)) : -1; off = 10; }
            if (len >= 0 && buf.length >= off + len) {
              const f = { fin: !!(buf[0] & 0x80), rsv1: !!(buf[0] & 0x40), op: buf[0] & 0x0f, payload: buf.subarray(off, off + len) };
              buf = buf.subarray(off + len);
              return f;
            }
          }
          if (sock.destroyed) throw new Error('closed');
          const before = buf.length;
          await more();
          if (buf.length === before && !sock.destroyed) throw new Error('no frame within timeout');
        }
      } finally { clearTimeout(t); }
    },
    // A masked client frame; `rsv1` marks the payload as compressed.
    send(payload, { op = 1, rsv1 = false } = {}) {
      const data = Buffer.from(payload);
      const mask = Buffer.from([1, 2, 3, 4]);
      const len = data.length;
      const head2 = len < 126 ? Buffer.from([0x80 | (rsv1 ? 0x40 : 0) | op, 0x80 | len])
        : len < 65536 ? Buffer.from([0x80 | (rsv1 ? 0x40 : 0) | op, 0x80 | 126, len >> 8, len & 0xff])
          : (() => { const h = Buffer.alloc(10); h[0] = 0x80 | (rsv1 ? 0x40 : 0) | op; h[1] = 0x80 | 127; h.writeBigUInt64BE(BigInt(len), 2); return h; })();
      const masked = Buffer.from(data.map((b, i) => b ^ mask[i % 4]));
      sock.write(Buffer.concat([head2, mask, masked]));
    },
  };
}
const inflate = (payload) => zlib.inflateRawSync(Buffer.concat([payload, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: zlib.constants.Z_SYNC_FLUSH }).toString();
const deflate = (text) => { const b = zlib.deflateRawSync(Buffer.from(text), { finishFlush: zlib.constants.Z_SYNC_FLUSH }); return b.subarray(0, b.length - 4); };
const rss = (server) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.proc.pid}/status`, 'utf8'))[1]);
const bigPayload = { text: 'The quest log says: meet at the old mill before dawn. '.repeat(20) };

describe('permessage-deflate', () => {
  let server;
  before(async () => { server = await startServer({ single: true }); });
  after(() => server.stop());

  it('is answered only when offered, with both no_context_takeover parameters', async () => {
    const plain = await rawClient(server, 'pmd-a', null);
    assert.doesNotMatch(plain.head, /sec-websocket-extensions/i, 'a client that does not offer it sees the original handshake');
    plain.sock.destroy();
    const c = await rawClient(server, 'pmd-a', 'permessage-deflate; client_max_window_bits');
    assert.match(c.head, /\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n/);
    c.sock.destroy();
    const w = await rawClient(server, 'pmd-a', 'permessage-deflate; server_max_window_bits=10');
    assert.match(w.head, /server_max_window_bits=10/);
    w.sock.destroy();
    const declined = await rawClient(server, 'pmd-a', 'permessage-deflate; server_max_window_bits=8; bogus');
    assert.doesNotMatch(declined.head, /sec-websocket-extensions/i, 'an offer it cannot honour is declined, the socket opens without it');
    declined.sock.destroy();
  });

  it('compresses envelopes above the threshold (once per publish, same bytes for every socket), not below; control frames never', async () => {
    const socks = [];
    for (let i = 0; i < 3; i++) {
      const c = await rawClient(server, 'pmd-b', 'permessage-deflate; client_max_window_bits');
      c.send(JSON.stringify({ type: 'subscribe', filters: [{ type: 'chat' }] }));
      c.send('ping');
      assert.equal((await c.frame()).payload.toString(), 'pong');
      socks.push(c);
    }
    const plain = await rawClient(server, 'pmd-b', null);
    plain.send(JSON.stringify({ type: 'subscribe', filters: [{ type: 'chat' }] }));
    plain.send('ping');
    await plain.frame();
    const small = publish(server, { userId: 'pmd-b', type: 'chat', payload: { n: 1 } }, { query: '' });
    const frames = await Promise.all(socks.map((c) => c.frame()));
    for (const f of frames) assert.equal(f.rsv1, false, 'a short envelope goes as it is');
    const plainSmall = await plain.frame();
    assert.equal(plainSmall.rsv1, false);
    for (const c of [...socks, plain]) c.send(JSON.stringify({ type: 'ack', envelopeId: JSON.parse(plainSmall.payload).envelopeId }));
    await small;
    const big = publish(server, { userId: 'pmd-b', type: 'chat', payload: bigPayload });
    const bigFrames = await Promise.all(socks.map((c) => c.frame()));
    const plainBig = await plain.frame();
    assert.equal(plainBig.rsv1, false, 'never compressed for a client that did not offer it');
    const text = plainBig.payload.toString();
    for (const f of bigFrames) {
      assert.equal(f.rsv1, true);
      assert.ok(f.payload.length < text.length / 4, `${f.payload.length} bytes for ${text.length}`);
      assert.equal(inflate(f.payload), text, 'inflates to the very envelope the plain client got');
      assert.deepEqual(f.payload, bigFrames[0].payload, 'the same compressed bytes for every socket');
    }
    // A compressed ack is understood.
    const id = JSON.parse(text).envelopeId;
    socks[0].send(deflate(JSON.stringify({ type: 'ack', envelopeId: id, result: { compressed: true } })), { rsv1: true });
    for (const c of [...socks.slice(1), plain]) c.send(JSON.stringify({ type: 'ack', envelopeId: id, result: 'plain' }));
    const answer = (await big).json;
    assert.equal(answer.clientCount, 4);
    assert.deepEqual(answer.results.filter((r) => r !== 'plain'), [{ compressed: true }]);
    // Pings are never compressed.
    socks[1].send('hi', { op: 9 });
    const pong = await socks[1].frame();
    assert.deepEqual([pong.op, pong.rsv1, pong.payload.toString()], [10, false, 'hi']);
    for (const c of [...socks, plain]) c.sock.destroy();
  });

  it('closes a deflate bomb with 1009 before its output grows, and nobody else notices', async () => {
    const healthy = await connect(server, 'pmd-healthy');
    await healthy.subscribe([{ type: 't' }]);
    healthy.autoAck(() => 'fine');
    const c = await rawClient(server, 'pmd-bomb', 'permessage-deflate');
    const rssBefore = rss(server);
    const smallBomb = deflate('{"type":"ack","x":"' + 'A'.repeat(30 << 20));  // 30 MiB inflated, ~30 KiB sent
    assert.ok(smallBomb.length < 65536);
    const t0 = performance.now();
    c.send(smallBomb, { rsv1: true });
    const close = await c.frame();
    assert.equal(close.op, 8);
    assert.equal(close.payload.readUInt16BE(0), 1009);
    assert.ok(performance.now() - t0 < 1000);
    const rssAfter = rss(server);
    if (!SANITIZED) assert.ok(rssAfter - rssBefore < 8 * 1024, `RSS grew by ${rssAfter - rssBefore} KiB`);
    const bad = await rawClient(server, 'pmd-bomb', 'permessage-deflate');
    bad.send(Buffer.from([0x07, 1, 2, 3]), { rsv1: true });
    assert.equal((await bad.frame()).payload.readUInt16BE(0), 1007, 'not deflate data');
    assert.deepEqual((await publish(server, { userId: 'pmd-healthy', type: 't' })).json, { clientCount: 1, results: ['fine'] });
    await healthy.close();
  });

  it('npm ws with permessage-deflate: compressed both ways, acks reach the publisher', async () => {
    const ws = new WebSocket(`${server.ws}/?token=${await token('pmd-ws')}`, { perMessageDeflate: { threshold: 0 } });
    await once(ws, 'open');
    assert.match(ws.extensions, /permessage-deflate/);
    ws.on('message', (m) => {
      const text = m.toString();
      if (text === 'pong') return;
      const e = JSON.parse(text);
      ws.send(JSON.stringify({ type: 'ack', envelopeId: e.envelopeId, result: e.payload.text.length }));
    });
    ws.send(JSON.stringify({ type: 'subscribe', filters: [{ type: 'chat' }] }));
    ws.send('ping');
    await sleep(50);
    assert.deepEqual((await publish(server, { userId: 'pmd-ws', type: 'chat', payload: bigPayload })).json,
      { clientCount: 1, results: [bigPayload.text.length] });
    ws.close();
  });

  it('Python websockets (its default: permessage-deflate offered) receives and acks', async () => {
    const py = `
import asyncio, json, sys, websockets
async def main():
    async with websockets.connect(sys.argv[1]) as ws:
        print("ext", [type(e).__name__ for e in ws.extensions], flush=True)
        await ws.send(json.dumps({"type": "subscribe", "filters": [{"type": "chat"}]}))
        await ws.send("ping")
        assert await ws.recv() == "pong"
        print("ready", flush=True)
        env = json.loads(await ws.recv())
        await ws.send(json.dumps({"type": "ack", "envelopeId": env["envelopeId"], "result": len(env["payload"]["text"])}))
        print("got", env["type"], flush=True)
asyncio.run(main())
`;
    const proc = spawn('/usr/bin/python3', ['-c', py, `${server.ws}/?token=${await token('pmd-py')}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d) => { out += d; });
    proc.stderr.on('data', (d) => { err += d; });
    for (let i = 0; i < 200 && !/ready/.test(out); i++) await sleep(25);
    assert.match(out, /ready/, err);
    assert.match(out, /ext \['PerMessageDeflate'\]/, 'negotiated');
    assert.deepEqual((await publish(server, { userId: 'pmd-py', type: 'chat', payload: bigPayload })).json,
      { clientCount: 1, results: [bigPayload.text.length] });
    const [code] = await once(proc, 'exit');
    assert.equal(code, 0, err);
    assert.match(out, /got chat/);
  });
});

describe('COMPRESSION=0', () => {
  it('never negotiates the extension', async () => {
    const server = await startServer({ single: true, env: { COMPRESSION: '0' } });
    try {
      const c = await rawClient(server, 'pmd-off', 'permessage-deflate');
      assert.doesNotMatch(c.head, /sec-websocket-extensions/i);
      c.send(deflate('{"type":"subscribe"}'), { rsv1: true });
      assert.equal((await c.frame()).payload.readUInt16BE(0), 1002, 'RSV1 without the extension is a protocol error');
    } finally {
      await server.stop();
    }
  });
});
