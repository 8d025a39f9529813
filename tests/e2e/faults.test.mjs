// Faults and drain: open-file pressure, and SIGTERM with many sockets.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { connect, publish, SANITIZED, sleep, startServer } from './helpers.mjs';

describe('faults', () => {
  // Under ASan/UBSan the sanitizers' own checks need free descriptors and
  // misreport when none are left; this runs in the normal e2e pass.
  it('survives running out of file descriptors, logs it, and recovers', { skip: SANITIZED && 'sanitizer build' }, async () => {
    // `ulimit -n 64` lowers the hard limit too, so the server cannot raise it.
    const server = await startServer({ shell: 'ulimit -n 64; exec "$0" "$@"' });
    const held = [];
    for (let i = 0; i < 100; i++) {
      const s = net.connect(server.port, '127.0.0.1');
      s.on('error', () => {});
      held.push(s);
    }
    await sleep(500);
    assert.match(server.log(), /accept failed: .*(Too many open files)/);
    held.forEach((s) => s.destroy());
    await sleep(300);  // the accept loop retries every 100 ms
    const c = await connect(server, 'after-emfile');
    await c.subscribe([{ type: 't' }]);
    c.autoAck(() => 'fine');
    assert.deepEqual((await publish(server, { userId: 'after-emfile', type: 't' })).json, { clientCount: 1, results: ['fine'] });
    await c.close();
    assert.equal(await server.stop(), 0);
  });

  it('drains on SIGTERM: 1001 to every socket, spread over DRAIN_SPREAD_MS, then exit 0', async () => {
    const server = await startServer({ env: { DRAIN_SPREAD_MS: '600' } });
    const clients = [];
    for (let i = 0; i < 120; i++) clients.push(await connect(server, `drain-${i}`));
    const closedAt = clients.map((c) => c.closed.then(({ code }) => ({ code, at: performance.now() })));
    const exit = server.stop('SIGTERM');
    const closes = await Promise.all(closedAt);
    assert.ok(closes.every((c) => c.code === 1001), 'every socket got 1001');
    const times = closes.map((c) => c.at).sort((a, b) => a - b);
    const spread = times[times.length - 1] - times[0];
    assert.ok(spread >= 300, `closes spread over ${spread.toFixed(0)} ms`);
    assert.equal(await exit, 0);
  });
});
