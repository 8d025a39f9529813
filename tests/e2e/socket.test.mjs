// docs/protocol.md section 3: the socket.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { connect, publish, sleep, startServer, token } from './helpers.mjs';

let server;
before(async () => { server = await startServer(); });
after(async () => { await server.stop(); });

describe('3. the socket', () => {
  it('answers ping with pong, trimmed and case-insensitive', async () => {
    const c = await connect(server, 'pinger');
    for (const p of ['ping', 'PING', ' Ping ', '\tpInG\n']) {
      c.send(p);
      assert.equal(await c.next(), 'pong', JSON.stringify(p));
    }
    await c.close();
  });

  it('ignores binary frames, junk, non-objects and unknown types silently', async () => {
    const c = await connect(server, 'junk');
    c.ws.send(Buffer.from('ping'), { binary: true });
    for (const m of ['not json', '[1,2]', '"subscribe"', 'null', '42', '{"type":"nope"}', '{"type":"subscribe","filters":"x"}', '{"type":"ack"}']) c.send(m);
    await c.barrier();  // the first reply is the pong: nothing was sent for the rest
    assert.equal(c.queue.length, 0);
    assert.equal(c.ws.readyState, WebSocket.OPEN);
    await c.close();
  });

  it('handles messages in arrival order: ping is a barrier after subscribe', async () => {
    const c = await connect(server, 'orderly');
    c.send({ type: 'subscribe', filters: [{ type: 'first' }] });
    c.send('ping');
    assert.equal(await c.next(), 'pong');
    // No sleep: the subscription is in place as soon as the pong arrived.
    const pub = await publish(server, { userId: 'orderly', type: 'first', ackTimeoutMs: 0 });
    assert.equal(pub.json.clientCount, 1);
    assert.equal((await c.nextJson()).type, 'first');
    await c.close();
  });

  it('answers a client close frame with a close frame', async () => {
    const c = await connect(server, 'closer');
    const started = performance.now();
    c.ws.close(1000, 'bye');
    const { code } = await c.closed;
    assert.equal(code, 1000);
    // ws waits up to 30 s for the server's close frame before giving up.
    assert.ok(performance.now() - started < 2000, 'close handshake completed promptly');
  });

  it('sends only pong and envelopes', async () => {
    const c = await connect(server, 'only');
    await c.subscribe([{ type: 't' }]);
    await publish(server, { userId: 'only', type: 't', ackTimeoutMs: 0 });
    const m = await c.nextJson();
    assert.deepEqual(Object.keys(m), ['envelopeId', 'type', 'userId', 'timestamp']);
    await sleep(50);
    assert.equal(c.queue.length, 0);
    await c.close();
  });

  it('accepts the same token on many sockets; the CLI-minted token works too', async () => {
    const { execFileSync } = await import('node:child_process');
    const bin = process.env.HOPEFLOW_BIN ?? new URL('../../build/hopeflow-realtime', import.meta.url).pathname;
    const cli = execFileSync(bin, ['token', '--user', 'cli-user', '--ttl', '60'], {
      env: { PATH: process.env.PATH, JWT_SECRET: (await import('./helpers.mjs')).SECRET, ENV_FILE: '' },
    }).toString().trim();
    const a = await connect(server, cli);
    const b = await connect(server, await token('cli-user'));
    await a.subscribe([{ type: 'x' }]);
    await b.subscribe([{ type: 'x' }]);
    const pub = await publish(server, { userId: 'cli-user', type: 'x', ackTimeoutMs: 0 });
    assert.equal(pub.json.clientCount, 2);
    await a.close();
    await b.close();
  });
});
