// `hopeflow-realtime listen` and `hopeflow-realtime publish` against a
// running server: JSON lines out, acks back to the publisher, the secret read
// as `token` reads it, the URL from the configuration or --url (ws/wss and
// http/https alike), clear errors with exit codes.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { publish as sdkPublish } from '../../clients/js/src/index.js';
import { SECRET, startServer, token } from '../e2e/helpers.mjs';

const BIN = process.env.HOPEFLOW_BIN ?? new URL('../../build/hopeflow-realtime', import.meta.url).pathname;
const PUBLISHER_SECRET = 'publisher-secret-that-is-32-bytes-long!!';
const baseEnv = { PATH: process.env.PATH, ENV_FILE: '', JWT_SECRET: SECRET };

function cli(args, env = {}) {
  const r = spawnSync(BIN, args, { env: { ...baseEnv, ...env }, encoding: 'utf8', timeout: 15000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

// Starts `listen`; resolves once it says it is listening (subscribed).
async function listen(args, env = {}) {
  const proc = spawn(BIN, ['listen', ...args], { env: { ...baseEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d) => { out += d; });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`listen did not start: ${err}`)), 10000);
    proc.stderr.on('data', (d) => {
      err += d;
      if (/listening/.test(err)) { clearTimeout(timer); resolve(); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`listen exited ${code}: ${err}`)); });
  });
  return { proc, lines: () => out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)), err: () => err };
}

describe('CLI', () => {
  let server;
  before(async () => { server = await startServer({ single: true }); });
  after(() => server.stop());

  it('listen prints envelopes as JSON lines and acks them; publish prints the answer', async () => {
    const l = await listen(['--user', 'cli-user', '--filter', 'type=chat_message,questId=q1', '--filter', 'type=typing',
      '--ack', '{"read":true}', '--recover', '--count', '3', '--url', server.http]);
    const p1 = cli(['publish', '--user', 'cli-user', '--type', 'chat_message', '--payload', '{"questId":"q1","text":"hi"}', '--url', server.http]);
    assert.equal(p1.code, 0, p1.err);
    assert.deepEqual(JSON.parse(p1.out), { clientCount: 1, results: [{ read: true }] });
    const p2 = cli(['publish', '--user', 'cli-user', '--type', 'chat_message', '--payload', '{"questId":"q2"}', '--url', server.ws]);
    assert.deepEqual(JSON.parse(p2.out), { clientCount: 0, results: [] }, 'another quest: not subscribed (and ws:// works for publish)');
    // The default URL is the configured server's (PORT from the environment).
    const p3 = cli(['publish', '--user', 'cli-user', '--type', 'typing'], { PORT: String(server.port) });
    assert.deepEqual(JSON.parse(p3.out), { clientCount: 1, results: [{ read: true }] });
    const answer = await sdkPublish({ url: server.http, token: await token('someone'), userId: 'cli-user', type: 'chat_message', payload: { questId: 'q1', n: 3 } });
    assert.deepEqual(answer, { clientCount: 1, results: [{ read: true }] });
    const [code] = await once(l.proc, 'exit');
    assert.equal(code, 0, '--count 3: done after three envelopes');
    const lines = l.lines();
    assert.equal(lines[0].type, 'recovered', '--recover: the recovered frame first');
    const envs = lines.filter((x) => x.envelopeId);
    assert.deepEqual(envs.map((e) => [e.type, e.payload?.questId ?? null]), [['chat_message', 'q1'], ['typing', null], ['chat_message', 'q1']]);
    assert.ok(envs.every((e) => e.userId === 'cli-user' && typeof e.offset === 'number'));
  });

  it('refuses bad input with a clear line and exit 2, and reports refusals with exit 1', async () => {
    let r = cli(['publish', '--user', 'u', '--payload', '{bad', '--url', server.http]);
    assert.equal(r.code, 2);
    assert.match(r.err, /--payload \(not JSON\)/);
    r = cli(['listen', '--user', 'u', '--filter', 'questId=q1', '--url', server.http]);
    assert.equal(r.code, 2);
    assert.match(r.err, /expected type=T/);
    r = cli(['listen', '--user', 'u', '--url', server.http]);
    assert.equal(r.code, 2);
    assert.match(r.err, /at least one --filter/);
    r = cli(['publish', '--user', 'u', '--url', 'ftp://x']);
    assert.equal(r.code, 2);
    assert.match(r.err, /--url must be/);
    r = cli(['publish', '--user', 'u', '--token', 'not-a-token', '--url', server.http]);
    assert.equal(r.code, 1);
    assert.match(r.err, /HTTP 401 \{"error":"Unauthorized"\}/);
    r = cli(['listen', '--token', 'not-a-token', '--filter', 'type=x', '--url', server.http]);
    assert.equal(r.code, 1);
    assert.match(r.err, /upgrade refused: HTTP 401/);
    r = cli(['publish', '--user', 'u'], { JWT_SECRET: '', PORT: String(server.port) });
    assert.equal(r.code, 2);
    r = cli(['publish', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.err, /usage: .* publish --user ID/);
  });

  it('mints a publisher token with PUBLISH_SECRET when the server restricts publishing', async () => {
    const restricted = await startServer({ single: true, env: { PUBLISH_SECRET: PUBLISHER_SECRET } });
    try {
      const l = await listen(['--user', 'dee', '--filter', 'type=t', '--count', '1', '--url', restricted.http]);
      const r = cli(['publish', '--user', 'dee', '--type', 't', '--url', restricted.http], { PUBLISH_SECRET: PUBLISHER_SECRET });
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(JSON.parse(r.out), { clientCount: 1, results: [null] });
      await once(l.proc, 'exit');
      const denied = cli(['publish', '--user', 'dee', '--type', 't', '--url', restricted.http]);
      assert.equal(denied.code, 1);
      assert.match(denied.err, /HTTP 403/);
    } finally {
      await restricted.stop();
    }
  });
});
