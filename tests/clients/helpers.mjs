// Shared by the client tests: polling for a condition, and a 2-node cluster
// whose node `a` can be killed and started again on the same port.
import { freePort, sleep, startRedis, startServer, waitReady } from '../e2e/helpers.mjs';

// Waits until `check()` is truthy (polling), or fails with `what`.
export async function until(check, what, ms = 15_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

// A redis-server and two nodes on it: sockets connect to `a` (on a fixed
// port, so clients can reconnect to it after `restartA`), publishes go
// through `b`.
export async function restartablePair() {
  const redisPort = await freePort();
  const redis = await startRedis(redisPort);
  const portA = await freePort();
  const env = (id) => ({ REDIS_URL: `redis://127.0.0.1:${redisPort}`, NODE_ID: id });
  const pair = {
    portA,
    a: await startServer({ single: true, env: { ...env('a'), PORT: String(portA) } }),
    b: await startServer({ single: true, env: env('b') }),
    async restartA() {
      pair.a = await startServer({ single: true, env: { ...env('a'), PORT: String(portA) } });
      await waitReady([pair.a]);
    },
    async stop() { await pair.a.stop(); await pair.b.stop(); await redis.stop(); },
  };
  await waitReady([pair.a, pair.b]);
  return pair;
}
