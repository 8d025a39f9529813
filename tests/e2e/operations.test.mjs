// Operations endpoints: /healthz, /readyz (also while draining), and /metrics
// parsed by the official Prometheus Python client's parser, with counters
// that move with traffic.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { connect, publish, startServer, token } from './helpers.mjs';

const bin = process.env.HOPEFLOW_BIN ?? new URL('../../build/hopeflow-realtime', import.meta.url).pathname;

// One request on its own connection (closed after the answer); the answer's
// raw bytes split into status, headers and whatever followed them.
function rawRequest(port, head) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.end(head));
    const chunks = [];
    s.on('data', (d) => chunks.push(d));
    s.on('error', reject);
    s.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      resolve({ status: Number(statusLine.split(' ')[1]), headers, rest: text.slice(end + 4) });
    });
  });
}

// Parses exposition text with prometheus_client (Debian's python3-prometheus-client)
// and returns {"name{labels}": value}.
function parseMetrics(text) {
  const py = `
import sys, json
from prometheus_client.parser import text_string_to_metric_families
out = {}
for fam in text_string_to_metric_families(sys.stdin.read()):
    for s in fam.samples:
        labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
        out[s.name + ("{" + labels + "}" if labels else "")] = s.value
print(json.dumps(out))`;
  const r = spawnSync('/usr/bin/python3', ['-c', py], { input: text });
  assert.equal(r.status, 0, r.stderr.toString());
  return JSON.parse(r.stdout.toString());
}

describe('operations endpoints', () => {
  let server;
  before(async () => { server = await startServer(); });
  after(async () => { await server.stop(); });

  it('/healthz and /readyz answer 200; an upgrade on those paths is still a WebSocket', async () => {
    assert.equal((await fetch(`${server.http}/healthz`)).status, 200);
    assert.equal((await fetch(`${server.http}/readyz`)).status, 200);
    const c = await connect(server, 'ops', { path: '/healthz' });
    await c.barrier();
    await c.close();
  });

  it('HEAD /healthz, /readyz and /metrics answer like GET, with the GET body\'s length and no body', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      const get = await rawRequest(server.port, `GET ${path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`);
      const head = await rawRequest(server.port, `HEAD ${path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`);
      assert.equal(head.status, get.status, path);
      assert.equal(head.status, 200, path);
      assert.equal(head.headers['content-type'], get.headers['content-type'], path);
      assert.equal(head.rest, '', `${path}: no body after HEAD`);
      assert.equal(Number(get.headers['content-length']), Buffer.byteLength(get.rest, 'latin1'));
      if (path !== '/metrics') assert.equal(head.headers['content-length'], get.headers['content-length'], path);
      else assert.ok(Number(head.headers['content-length']) > 0);
    }
    // fetch's HEAD, on a kept-alive connection that then carries a GET.
    const h = await fetch(`${server.http}/healthz`, { method: 'HEAD' });
    assert.equal(h.status, 200);
    assert.equal(await h.text(), '');
    assert.equal(await (await fetch(`${server.http}/healthz`)).text(), 'ok');
    // Other methods there are still 404.
    assert.equal((await fetch(`${server.http}/healthz`, { method: 'PUT' })).status, 404);
  });

  it('/metrics names the build and exports the conventional process metrics', async () => {
    const m = parseMetrics(await (await fetch(`${server.http}/metrics`)).text());
    const version = spawnSync(bin, ['--version']).stdout.toString().trim().split(' ').pop();
    assert.match(version, /^\d+\.\d+\.\d+/);
    assert.equal(spawnSync(bin, ['version']).stdout.toString(), spawnSync(bin, ['--version']).stdout.toString());
    assert.equal(m[`hopeflow_build_info{version="${version}"}`], 1);
    assert.ok(m.process_resident_memory_bytes > 1e6, `rss ${m.process_resident_memory_bytes}`);
    assert.ok(m.process_virtual_memory_bytes >= m.process_resident_memory_bytes);
    assert.ok(m.process_open_fds >= 3 && m.process_open_fds <= m.process_max_fds, `${m.process_open_fds} of ${m.process_max_fds}`);
    assert.ok(m.process_cpu_seconds_total >= 0);
    const now = Date.now() / 1000;
    assert.ok(m.process_start_time_seconds > now - 600 && m.process_start_time_seconds <= now + 1, `start ${m.process_start_time_seconds}, now ${now}`);
  });

  it('/metrics parses with the Prometheus client parser and counts traffic', async () => {
    const scrape = async () => parseMetrics(await (await fetch(`${server.http}/metrics`)).text());
    const before = await scrape();
    const c = await connect(server, 'metered');
    await c.subscribe([{ type: 't' }]);
    c.autoAck(() => 1);
    for (let i = 0; i < 5; i++) await publish(server, { userId: 'metered', type: 't' });
    await publish(server, { userId: 'nobody', type: 't' });
    await publish(server, { userId: 'x' }, { tok: 'bad' });
    const during = await scrape();
    assert.equal(during.hopeflow_websockets, before.hopeflow_websockets + 1);
    assert.equal(during['hopeflow_publishes_total{outcome="delivered"}'] - before['hopeflow_publishes_total{outcome="delivered"}'], 5);
    assert.equal(during['hopeflow_publishes_total{outcome="no_target"}'] - before['hopeflow_publishes_total{outcome="no_target"}'], 1);
    assert.equal(during.hopeflow_deliveries_total - before.hopeflow_deliveries_total, 5);
    assert.equal(during.hopeflow_acks_total - before.hopeflow_acks_total, 5);
    assert.ok(during['hopeflow_auth_failures_total{reason="malformed"}'] > before['hopeflow_auth_failures_total{reason="malformed"}']);
    assert.equal(during.hopeflow_publish_duration_seconds_count - before.hopeflow_publish_duration_seconds_count, 6);
    assert.ok(during.hopeflow_websocket_bytes_received_total > before.hopeflow_websocket_bytes_received_total);
    await c.close();
    await new Promise((r) => setTimeout(r, 50));
    const after = await scrape();
    assert.equal(after['hopeflow_websocket_closes_total{reason="client_close"}'] - before['hopeflow_websocket_closes_total{reason="client_close"}'], 1);
  });
});

describe('readiness during drain', () => {
  it('/readyz turns 503 during the drain notice while everything else still works, then the drain runs', async () => {
    const server = await startServer({ single: true, env: { DRAIN_NOTICE_MS: '800', DRAIN_SPREAD_MS: '200' } });
    const c = await connect(server, 'holding');
    await c.subscribe([{ type: 't' }]);
    c.autoAck(() => 'still here');
    assert.equal((await fetch(`${server.http}/readyz`)).status, 200);
    const exit = server.stop('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    const ready = await fetch(`${server.http}/readyz`);
    assert.equal(ready.status, 503);
    assert.equal(await ready.text(), 'draining');
    assert.equal((await fetch(`${server.http}/healthz`)).status, 200);
    assert.deepEqual((await publish(server, { userId: 'holding', type: 't' })).json, { clientCount: 1, results: ['still here'] });
    assert.equal((await c.closed).code, 1001);
    assert.equal(await exit, 0);
  });
});

describe('logs and configuration', () => {
  it('LOG_FORMAT=json writes one JSON object per line, with reasons and never the token', async () => {
    const server = await startServer({ env: { LOG_FORMAT: 'json' } });
    // Signed with another key: a well-formed token whose signature fails.
    const bad = await token('x', { secret: 'another-secret-that-is-at-least-32-bytes!' });
    await publish(server, { userId: 'x' }, { tok: bad });
    await fetch(`${server.http}/`, { headers: { upgrade: 'websocket', authorization: `Bearer ${bad}` } }).catch(() => {});
    await server.stop();
    const lines = server.log().trim().split('\n');
    const events = lines.map((l) => JSON.parse(l));
    assert.ok(events.every((e) => e.time && e.level && typeof e.msg === 'string'));
    assert.ok(events.some((e) => /publish rejected: 401 \(bad signature\)/.test(e.msg)));
    assert.ok(!server.log().includes(bad.slice(0, 20)), 'no token in the logs');
  });

  it('--check-config validates (exit 0 or 2) and reads a TOML config file', async () => {
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const dir = mkdtempSync('/tmp/hf-conf-');
    writeFileSync(`${dir}/ok.toml`, 'jwt_secret = "0123456789abcdef0123456789abcdef"\nport = 9123\nmax_sockets_per_user = 7\n');
    writeFileSync(`${dir}/bad.toml`, 'prot = 1\n');
    const run = (args) => spawnSync(bin, args, { env: { PATH: process.env.PATH, ENV_FILE: '' } });
    const ok = run(['--check-config', '--config', `${dir}/ok.toml`]);
    assert.equal(ok.status, 0, ok.stderr.toString());
    assert.match(ok.stdout.toString(), /PORT=9123/);
    assert.match(ok.stdout.toString(), /MAX_SOCKETS_PER_USER=7/);
    assert.match(ok.stdout.toString(), /JWT_SECRET=\(32 bytes\)/);
    const badFile = run(['--check-config', '--config', `${dir}/bad.toml`]);
    assert.equal(badFile.status, 2);
    assert.match(badFile.stderr.toString(), /unknown setting 'prot'/);
    const badFlag = run(['--check-config', '--config', `${dir}/ok.toml`, '--port', 'x']);
    assert.equal(badFlag.status, 2);
  });
});

describe('log flood', () => {
  it('a flood of bad requests writes a bounded number of log lines', async () => {
    const server = await startServer({ env: { THREADS: '1' } });
    await Promise.all(Array.from({ length: 500 }, () => publish(server, { userId: 'x' }, { tok: 'bad' })));
    await server.stop();
    const refusals = server.log().split('\n').filter((l) => /rejected|suppressed/.test(l));
    assert.ok(refusals.length <= 45, `${refusals.length} lines for 500 refusals`);
    assert.ok(refusals.some((l) => /publish rejected: 401/.test(l)), 'the reason is still logged');
  });
});

describe('one server per port', () => {
  it('a second server on a port in use refuses to start (SO_REUSEPORT would otherwise split the traffic)', async () => {
    const first = await startServer({ single: true });
    try {
      const r = spawnSync(bin, [], { env: { PATH: process.env.PATH, ENV_FILE: '', JWT_SECRET: 'x'.repeat(32), PORT: String(first.port) }, timeout: 10000 });
      assert.equal(r.status, 1);
      assert.match(r.stderr.toString(), /cannot listen on 127\.0\.0\.1:\d+: the port is in use \(another server running\?\)/);
      // The first one still answers everything.
      const c = await connect(first, 'port-owner');
      await c.subscribe([{ type: 't' }]);
      c.autoAck(() => 'mine');
      assert.deepEqual((await publish(first, { userId: 'port-owner', type: 't' })).json, { clientCount: 1, results: ['mine'] });
      await c.close();
    } finally {
      await first.stop();
    }
  });
});
