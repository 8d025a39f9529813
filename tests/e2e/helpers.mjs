// Shared helpers for the end-to-end tests: start the real binary on a free
// port, mint tokens with jose, talk to it with ws and fetch (clients nobody on
// this project wrote).
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { SignJWT } from 'jose';
import WebSocket from 'ws';

// Set by `make asan`: the server is an AddressSanitizer build, whose
// quarantine keeps freed memory (so RSS checks mean nothing) and whose own
// machinery needs file descriptors (so fd-exhaustion tests cannot run).
export const SANITIZED = process.env.HOPEFLOW_SANITIZED === '1';

export const SECRET = 'e2e-secret-that-is-at-least-32-bytes-long!';
const BIN = process.env.HOPEFLOW_BIN ?? new URL('../../build/hopeflow-realtime', import.meta.url).pathname;

// Starts the server with PORT=0 and waits for its "listening on" line.
// With HOPEFLOW_CLUSTER=1 the conformance tests run against a cluster: a
// redis-server on a free port and two nodes; sockets connect to the first
// node and publishes go through the second, so every rule is checked across
// nodes. (`port`, `proc` and raw-socket tests address the first node.)
export const CLUSTER = process.env.HOPEFLOW_CLUSTER === '1';

// A free TCP port on loopback (closed again; good enough for a test's server).
export async function freePort() {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address();
  s.close();
  return port;
}

// A real redis-server on `port` (pub/sub only: no persistence); stop() kills it.
export async function startRedis(port, extraArgs = []) {
  const proc = track(spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] }));
  let log = '';
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`redis did not start: ${log}`)), 10000);
    proc.stdout.on('data', (d) => { log += d; if (/Ready to accept connections/.test(log)) { clearTimeout(t); resolve(); } });
    proc.on('exit', (c) => { clearTimeout(t); reject(new Error(`redis exited ${c}: ${log}`)); });
  });
  return { proc, stop: async () => { if (proc.exitCode === null) { proc.kill('SIGKILL'); await once(proc, 'exit'); } } };
}

// A port whose cluster bus port (port + 10000) is free too: a Redis Cluster
// node needs both, so data ports stay below 55536.
async function freeClusterPort(taken) {
  const tryListen = (port) => new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
  for (let i = 0; i < 200; i++) {
    const port = 20000 + Math.floor(Math.random() * 35000);
    if (taken.has(port) || taken.has(port + 10000)) continue;
    if (await tryListen(port) && await tryListen(port + 10000)) { taken.add(port); taken.add(port + 10000); return port; }
  }
  throw new Error('no free port pair for a Redis Cluster node');
}

// A real Redis Cluster: `masters` masters with `replicas` replicas each, on
// free loopback ports, made by redis-cli --cluster create, with a short
// cluster-node-timeout so that a failover takes about a second. Each node
// keeps its nodes.conf in its own temporary directory. Returns the nodes
// ({port, proc, stop, start}), `seeds` for REDIS_CLUSTER_NODES, `cli(port,
// ...args)` and stop().
export async function startRedisCluster({ masters = 3, replicas = 1, nodeTimeoutMs = 1000, password = null, extraArgs = [] } = {}) {
  const auth = [...(password ? ['--requirepass', password, '--masterauth', password] : []), ...extraArgs];
  const cliAuth = password ? ['-a', password, '--no-auth-warning'] : [];
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { execFile } = await import('node:child_process');
  const dir = mkdtempSync(join(tmpdir(), 'hf-redis-cluster-'));
  const taken = new Set();
  const cli = (port, ...args) => new Promise((resolve, reject) => {
    execFile('redis-cli', ['-p', String(port), ...cliAuth, ...args], { timeout: 30000 }, (err, stdout, stderr) => err ? reject(new Error(`${err.message}\n${stdout}${stderr}`)) : resolve(stdout));
  });
  const start = async (port) => {
    const nodeDir = join(dir, String(port));
    await import('node:fs').then((fs) => fs.mkdirSync(nodeDir, { recursive: true }));
    const r = await startRedis(port, ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', String(nodeTimeoutMs), '--dir', nodeDir, ...auth]);
    return r;
  };
  const nodes = [];
  for (let i = 0; i < masters * (1 + replicas); i++) {
    const port = await freeClusterPort(taken);
    const node = { port, ...(await start(port)) };
    node.restart = async () => { Object.assign(node, await start(port)); };
    nodes.push(node);
  }
  await cli(nodes[0].port, '--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', String(replicas), '--cluster-yes');
  // Every node agrees that the cluster is ok and that every replica is attached.
  for (let i = 0; ; i++) {
    const infos = await Promise.all(nodes.map((n) => cli(n.port, 'cluster', 'info').catch(() => '')));
    const okAll = infos.every((t) => /cluster_state:ok/.test(t) && new RegExp(`cluster_known_nodes:${nodes.length}`).test(t));
    if (okAll) {
      const repl = await Promise.all(nodes.map((n) => cli(n.port, 'info', 'replication')));
      if (repl.filter((t) => /role:slave/.test(t) && /master_link_status:up/.test(t)).length === masters * replicas) break;
    }
    if (i > 200) throw new Error('the Redis Cluster did not come up');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    nodes,
    seeds: nodes.slice(0, masters).map((n, i) => (password && i === 0 ? `redis://:${password}@127.0.0.1:${n.port}` : `127.0.0.1:${n.port}`)).join(','),
    cli,
    // The node that serves `slot` now (its master), from CLUSTER SLOTS of any live node.
    async masterOf(slot) {
      for (const n of nodes) {
        if (n.proc.exitCode !== null || n.proc.signalCode !== null || n.frozen) continue;
        const slots = await cli(n.port, '--json', 'cluster', 'slots').catch(() => null);
        if (!slots) continue;
        for (const [first, last, master] of JSON.parse(slots)) if (slot >= first && slot <= last) return nodes.find((x) => x.port === master[1]);
      }
      return null;
    },
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// With HOPEFLOW_REDIS_CLUSTER=1 (make e2e-rediscluster), CLUSTER mode runs on a
// real Redis Cluster (3 masters, 3 replicas) instead of one redis-server.
export const REDIS_CLUSTER = process.env.HOPEFLOW_REDIS_CLUSTER === '1';

export async function startServer(opts = {}) {
  if (!CLUSTER || opts.single) return startNode(opts);
  let redis, where;
  if (REDIS_CLUSTER) {
    redis = await startRedisCluster();
    where = { REDIS_CLUSTER_NODES: redis.seeds };
  } else {
    const redisPort = await freePort();
    redis = await startRedis(redisPort);
    where = { REDIS_URL: `redis://127.0.0.1:${redisPort}` };
  }
  const env = { ...(opts.env ?? {}), ...where };
  const a = await startNode({ ...opts, env: { ...env, NODE_ID: 'a' } });
  const b = await startNode({ ...opts, env: { ...env, NODE_ID: 'b' } });
  for (let i = 0; i < 200 && !(/cluster: connected/.test(a.log()) && /cluster: connected/.test(b.log())); i++) await new Promise((r) => setTimeout(r, 25));
  return {
    ...a,
    http: b.http,
    log: () => a.log() + b.log(),
    async stop(signal = 'SIGTERM') {
      const [ca, cb] = await Promise.all([a.stop(signal), b.stop(signal)]);
      await redis.stop();
      return ca || cb;
    },
  };
}

// A sanitizer build's options reach the server (make asan / make tsan set
// them: with halt_on_error the first report stops the server, and the test
// that caused it fails).
const sanitizerOptions = Object.fromEntries(['ASAN_OPTIONS', 'UBSAN_OPTIONS', 'TSAN_OPTIONS', 'LSAN_OPTIONS']
  .filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]]));

// Every server and redis-server a test file started is killed when the file's
// process exits, also when a failed assertion skipped its stop(): a child left
// running would hold the test runner (and CI) until the job's own timeout.
const children = new Set();
process.on('exit', () => { for (const c of children) if (c.exitCode === null) c.kill('SIGKILL'); });
export function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

// `shell`, when given, is a /bin/sh script that execs the server ("$0" is
// the binary), for limits such as `ulimit -n` that must be set first.
async function startNode({ env = {}, args = [], shell = null } = {}) {
  const [cmd, argv] = shell ? ['/bin/sh', ['-c', shell, BIN, ...args]] : [BIN, args];
  const proc = track(spawn(cmd, argv, {
    env: { PATH: process.env.PATH, ...sanitizerOptions, JWT_SECRET: SECRET, PORT: '0', ENV_FILE: '', THREADS: '2', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  }));
  let log = '';
  proc.stdout.on('data', (d) => { log += d; });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${log}`)), 10000);
    proc.stderr.on('data', (d) => {
      log += d;
      const m = /listening on [^ ]+:(\d+)/.exec(log);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}:\n${log}`)); });
  });
  const server = {
    proc, port,
    http: `http://127.0.0.1:${port}`,
    ws: `ws://127.0.0.1:${port}`,
    log: () => log,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;  // gone (a signal leaves exitCode null)
      proc.kill(signal);
      const [code] = await once(proc, 'exit');
      return code;
    },
  };
  return server;
}

// An exp claim at least `seconds` ahead: rounded up to a whole second, since
// jose's expiresIn ('2s' = floor(now) + 2) can be almost a second shorter.
export const expAhead = (seconds) => Math.ceil(Date.now() / 1000) + seconds;

// An HS256 token signed by jose (independent of the server's own minting).
export async function token(userId, { claims = {}, header = { alg: 'HS256', typ: 'JWT' }, expiresIn = '1h', secret = SECRET } = {}) {
  let jwt = new SignJWT({ ...(userId === undefined ? {} : { userId }), ...claims }).setProtectedHeader(header).setIssuedAt();
  if (expiresIn) jwt = jwt.setExpirationTime(expiresIn);
  return jwt.sign(new TextEncoder().encode(secret));
}

// A compact JWS built by hand, for headers jose refuses to produce (crit, alg none).
export function rawToken(header, payload, secret = SECRET, alg = 'sha256') {
  const b64 = (o) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)).toString('base64url');
  const input = `${b64(header)}.${b64(payload)}`;
  if (!alg) return `${input}.`;
  return `${input}.${createHmac(alg, secret).update(input).digest('base64url')}`;
}

// A connected client that queues every text message it receives.
export class Client {
  constructor(ws) {
    this.ws = ws;
    this.queue = [];
    this.waiters = [];
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    this.auto = null;
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? data : data.toString();
      if (this.auto) return this.auto(text);
      const w = this.waiters.shift();
      if (w) w(text); else this.queue.push(text);
    });
  }
  next(timeoutMs = 3000) {
    if (this.queue.length) return Promise.resolve(this.queue.shift());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        reject(new Error('no message within timeout'));
      }, timeoutMs);
      const done = (m) => { clearTimeout(timer); resolve(m); };
      this.waiters.push(done);
    });
  }
  async nextJson(timeoutMs) { return JSON.parse(await this.next(timeoutMs)); }
  send(obj) { this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj)); }
  // `ping` is answered in order, so a pong proves every earlier message was handled.
  async barrier() {
    this.send('ping');
    const m = await this.next();
    if (m !== 'pong') throw new Error(`expected pong, got ${m}`);
  }
  async subscribe(filters) { this.send({ type: 'subscribe', filters }); await this.barrier(); }
  async unsubscribe(filters) { this.send({ type: 'unsubscribe', filters }); await this.barrier(); }
  ack(envelopeId, result) { this.send(result === undefined ? { type: 'ack', envelopeId } : { type: 'ack', envelopeId, result }); }
  // Acks every envelope it receives with `resultFor(envelope)`.
  autoAck(resultFor = (e) => ({ got: e.envelopeId })) {
    this.auto = (m) => {
      if (m === 'pong') return;
      const e = JSON.parse(m);
      this.ack(e.envelopeId, resultFor(e));
    };
    for (const m of this.queue.splice(0)) this.auto(m);
  }
  close(code) { this.ws.close(code); return this.closed; }
}

// Opens a socket with the token in the Authorization header (default) or the query.
export async function connect(server, userOrToken, { via = 'header', path = '/' } = {}) {
  const t = userOrToken.includes('.') ? userOrToken : await token(userOrToken);
  const url = via === 'query' ? `${server.ws}${path}${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(t)}` : `${server.ws}${path}`;
  const ws = new WebSocket(url, via === 'header' ? { headers: { Authorization: `Bearer ${t}` } } : {});
  // Bounded, so that an upgrade nobody answers fails its test by name
  // instead of the whole file timing out.
  const limitMs = SANITIZED ? 60000 : 15000;
  let timer;
  await new Promise((resolve, reject) => {
    timer = setTimeout(() => { ws.terminate(); reject(new Error(`upgrade not answered within ${limitMs} ms`)); }, limitMs);
    ws.once('open', resolve);
    ws.once('error', reject);
    ws.once('unexpected-response', (req, res) => reject(new Error(`upgrade answered ${res.statusCode}`)));
  }).finally(() => clearTimeout(timer));
  return new Client(ws);
}

// Attempts an upgrade and returns the HTTP status and body it was refused with.
export async function refusedUpgrade(server, { headers = {}, path = '/' } = {}) {
  const ws = new WebSocket(`${server.ws}${path}`, { headers });
  return new Promise((resolve, reject) => {
    ws.once('open', () => { ws.terminate(); reject(new Error('upgrade unexpectedly accepted')); });
    ws.once('unexpected-response', (req, res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body, headers: res.headers }));
    });
    ws.once('error', () => {});
  });
}

export async function publish(server, body, { tok, contentType = 'application/json', query = '' } = {}) {
  const headers = {};
  if (tok !== null) headers.authorization = `Bearer ${tok ?? await token('publisher')}`;
  if (contentType) headers['content-type'] = contentType;
  const started = performance.now();
  const res = await fetch(`${server.http}/publish${query}`, {
    method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json, ms: performance.now() - started };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export { WebSocket };

// Recovery (docs/protocol.md section 7): sends recover (with a position when
// given), then a ping barrier; returns every frame before the pong, parsed.
// `gapMs` bounds the wait for each frame (a replay of megabytes under a
// sanitizer on a busy machine needs more than the default).
export async function recover(c, from, { gapMs = 3000 } = {}) {
  c.send(from ? { type: 'recover', epoch: from.epoch, offset: from.offset } : { type: 'recover' });
  c.send('ping');
  const frames = [];
  for (;;) {
    const m = await c.next(gapMs);
    if (m === 'pong') return frames;
    frames.push(JSON.parse(m));
  }
}
export const envelopesIn = (frames) => frames.filter((f) => f.envelopeId);

// A socket of `user` on `first`, subscribed to chat and opted in to
// recovery, sees one envelope (published through `seenVia`) and drops; chat
// m1, typing x and chat m2 are published through `missedVia` (each answer
// handed to `onMissed`); a new socket on `back` subscribes to chat and
// recovers from the position it had. Returns that socket, the frames of its
// recovery, the epoch and the envelope seen.
export async function dropAndRecover(user, { first, seenVia = first, missedVia = first, back = first, onMissed = () => {} }) {
  const s = await connect(first, user);
  await s.subscribe([{ type: 'chat' }]);
  const { epoch } = recoveredIn(await recover(s));
  await publish(seenVia, { userId: user, type: 'chat', payload: 'seen', ackTimeoutMs: 0 });
  const seen = await s.nextJson();
  await s.close();
  for (const [type, payload] of [['chat', 'm1'], ['typing', 'x'], ['chat', 'm2']])
    onMissed(await publish(missedVia, { userId: user, type, payload }));
  const again = await connect(back, user);
  await again.subscribe([{ type: 'chat' }]);
  const frames = await recover(again, { epoch, offset: seen.offset });
  return { again, frames, epoch, seen };
}
export const recoveredIn = (frames) => frames.find((f) => f.type === 'recovered');

// Readiness of a node (/readyz 200), and waiting for every node in a list.
export const isReady = async (n) => (await fetch(`${n.http}/readyz`).catch(() => ({ status: 0 }))).status === 200;
export async function waitReady(nodes, ms = 15000) {
  const end = Date.now() + ms;
  while (!(await Promise.all(nodes.map(isReady))).every(Boolean)) {
    if (Date.now() > end) throw new Error('nodes not ready in time');
    await sleep(25);
  }
}

// A socket of `user` on `at` recovers from `position` (an epoch that is not
// the user's current one, so the answer is recovered:false) while `count`
// publishes to the user go through `via` at the same moment. Returns the
// numbered envelopes that came before the `recovered` frame and that frame
// (docs/protocol.md section 7: none of an epoch before the frame naming it).
export async function recoverRacingPublishes(at, via, user, position, count = 40) {
  const s = await connect(at, user);
  await s.subscribe([{ type: 'race' }]);
  const before = [];
  let frame = null;
  const framed = new Promise((resolve) => {
    s.auto = (m) => {
      if (m === 'pong') return;
      const e = JSON.parse(m);
      if (e.type === 'recovered') { frame ??= e; resolve(); return; }
      if (!frame && e.offset !== undefined) before.push(e);
    };
  });
  // Six publishers in a row each; the recover goes once half are answered,
  // so that publishes are being numbered while the stream is read.
  let next = 0;
  const publisher = async () => {
    while (next < count) {
      const i = next++;
      await publish(via, { userId: user, type: 'race', payload: i, ackTimeoutMs: 0 });
      if (i === count >> 1) s.send({ type: 'recover', epoch: position.epoch, offset: position.offset });
    }
  };
  try {
    await Promise.all([1, 2, 3, 4, 5, 6].map(publisher));
    await Promise.race([framed, sleep(5000).then(() => { throw new Error('no recovered frame within 5 s'); })]);
  } finally {
    await s.close();
  }
  return { before, frame };
}

// Sections 11-13: a socket of `user` naming `device` (the query parameter),
// and GET /users/<user>/devices through `server` (its answer, parsed).
export const connectDevice = (server, user, device) =>
  connect(server, user, { path: `/?device=${encodeURIComponent(device)}` });
export async function roster(server, user, { tok, method = 'GET' } = {}) {
  const headers = {};
  if (tok !== null) headers.authorization = `Bearer ${tok ?? await token('publisher')}`;
  const res = await fetch(`${server.http}/users/${encodeURIComponent(user)}/devices`, { method, headers });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json };
}

// Section 14: a webhook receiver (node:http) on a free loopback port. It
// records every POST ({ headers, body, json, at }) and answers with what
// `answer(request, index)` returns: a status number (200 by default), or
// 'hang' to never answer. `events` are the parsed bodies of the 2xx-answered
// POSTs; stop() closes it, start() opens it again on the same port.
export const WEBHOOK_SECRET = 'webhook-secret-of-the-e2e-tests-0123456789';
export async function startReceiver({ answer = () => 200, port } = {}) {
  const http = await import('node:http');
  const r = { posts: [], events: [], answer, port: port ?? await freePort(), server: null, hung: [] };
  r.url = `http://127.0.0.1:${r.port}/hooks/hopeflow?from=e2e`;
  r.start = async () => {
    r.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => {
        let json;
        try { json = JSON.parse(body); } catch { json = undefined; }
        const post = { headers: req.headers, body, json, at: Date.now(), url: req.url };
        r.posts.push(post);
        const a = r.answer(post, r.posts.length - 1);
        if (a === 'hang') { r.hung.push(res); return; }
        if (a >= 200 && a < 300) r.events.push(json);
        res.writeHead(a, { 'content-type': 'text/plain' });
        res.end('ok');
      });
    });
    r.server.listen(r.port, '127.0.0.1');
    await once(r.server, 'listening');
  };
  r.stop = async () => {
    for (const res of r.hung.splice(0)) res.destroy();
    r.server.closeAllConnections?.();
    await new Promise((resolve) => r.server.close(resolve));
  };
  // Resolves with the first event (2xx-answered) that `pred` accepts.
  r.waitFor = async (pred, ms = 5000) => {
    const until = Date.now() + ms;
    for (;;) {
      const e = r.events.find(pred);
      if (e) return e;
      if (Date.now() > until) throw new Error(`no matching webhook event within ${ms} ms; got ${JSON.stringify(r.events)}`);
      await new Promise((res) => setTimeout(res, 20));
    }
  };
  await r.start();
  return r;
}

// The hopeflow-signature check a receiver makes (section 14).
export function signatureOk(post, secret = WEBHOOK_SECRET) {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(post.headers['hopeflow-signature'] ?? '');
  if (!m) return false;
  const want = createHmac('sha256', secret).update(`${m[1]}.${post.body}`).digest('hex');
  return want === m[2] && Math.abs(Date.now() / 1000 - Number(m[1])) < 300;
}

// The Redis the cross-node files share: one redis-server on a free port, or
// a real Redis Cluster with HOPEFLOW_REDIS_CLUSTER=1. Returns { redis (with
// stop()), where (the env that points a node at it) }.
export async function startSharedRedis() {
  if (REDIS_CLUSTER) {
    const redis = await startRedisCluster();
    return { redis, where: { REDIS_CLUSTER_NODES: redis.seeds } };
  }
  const port = await freePort();
  return { redis: await startRedis(port), where: { REDIS_URL: `redis://127.0.0.1:${port}` } };
}

// Freezes a process with SIGSTOP and waits until the kernel says it is
// stopped: kill() only queues the signal, and a process running on the
// other core goes on for a moment (long enough to answer a message).
export async function freeze(proc) {
  proc.kill('SIGSTOP');
  const { readFileSync } = await import('node:fs');
  for (let i = 0; i < 200; i++) {
    const stat = readFileSync(`/proc/${proc.pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('T')) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`process ${proc.pid} did not stop`);
}
