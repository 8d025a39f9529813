// `hopeflow-realtime listen --recover`: it sends `recover` without a
// position (it has none), so the server's `recovered` frame says false
// (docs/protocol.md section 7); listen prints the frame as usual and says on
// stderr why that is no failure, once.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { SECRET, startServer } from '../e2e/helpers.mjs';

const BIN = process.env.HOPEFLOW_BIN ?? new URL('../../build/hopeflow-realtime', import.meta.url).pathname;
const env = { PATH: process.env.PATH, ENV_FILE: '', JWT_SECRET: SECRET };
const EXPLANATION = 'recovered:false: no position was given, so there is nothing to vouch for; later envelopes carry offsets';

describe('CLI listen --recover', () => {
  let server;
  before(async () => { server = await startServer({ single: true }); });
  after(() => server.stop());

  async function listenOnce(extra) {
    const proc = spawn(BIN, ['listen', '--user', 'cli-recover', '--filter', 'type=note', '--count', '1', '--url', server.http, ...extra],
      { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d) => { out += d; });
    const listening = new Promise((resolve, reject) => {
      proc.stderr.on('data', (d) => { err += d; if (/listening/.test(err)) resolve(); });
      proc.once('exit', (code) => reject(new Error(`listen exited ${code}: ${err}`)));
    });
    await listening;
    const p = spawnSync(BIN, ['publish', '--user', 'cli-recover', '--type', 'note', '--url', server.http], { env, encoding: 'utf8' });
    assert.equal(p.status, 0, p.stderr);
    const [code] = await once(proc, 'exit');
    return { code, lines: out.trim().split('\n').map((l) => JSON.parse(l)), err };
  }

  it('explains the first recovered:false on stderr, once, and exits 0', async () => {
    const r = await listenOnce(['--recover']);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.lines[0].type, 'recovered');
    assert.equal(r.lines[0].recovered, false);
    assert.equal(typeof r.lines[1].offset, 'number', 'the envelope after it carries an offset');
    assert.equal(r.err.split(EXPLANATION).length - 1, 1, r.err);
  });

  it('says nothing of the kind without --recover', async () => {
    const r = await listenOnce([]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.lines.length, 1);
    assert.equal(r.lines[0].offset, undefined);
    assert.ok(!r.err.includes('recovered:false'), r.err);
  });
});
