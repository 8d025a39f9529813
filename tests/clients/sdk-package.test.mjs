// The SDK as a package: `npm pack` makes a tarball with the module, its types
// and its README and nothing else; it has no runtime dependencies; the types
// compile under `tsc --strict` the way the README uses them; and the packed
// module imports and works from the tarball's own files.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';

const sdkDir = new URL('../../clients/js/', import.meta.url).pathname;

describe('SDK package', () => {
  it('npm pack: module, types and README only, no dependencies', async () => {
    const out = mkdtempSync(join(tmpdir(), 'hf-pack-'));
    try {
      const r = spawnSync('npm', ['pack', '--json', '--pack-destination', out], { cwd: sdkDir, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const [info] = JSON.parse(r.stdout);
      assert.deepEqual(info.files.map((f) => f.path).sort(), ['README.md', 'package.json', 'src/index.d.ts', 'src/index.js']);
      const pkg = JSON.parse(readFileSync(join(sdkDir, 'package.json'), 'utf8'));
      assert.equal(pkg.dependencies, undefined, 'no runtime dependencies');
      assert.equal(pkg.type, 'module');
      const x = spawnSync('tar', ['-xzf', join(out, info.filename), '-C', out]);
      assert.equal(x.status, 0);
      const sdk = await import(pathToFileURL(join(out, 'package', 'src', 'index.js')).href);
      for (const name of ['connect', 'publish', 'RealtimeClient', 'UnauthorizedError', 'ForbiddenError', 'BadRequestError', 'ServerError']) {
        assert.equal(typeof sdk[name], 'function', name);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('the types compile under tsc --strict', () => {
    const tsc = new URL('./node_modules/typescript/bin/tsc', import.meta.url).pathname;
    const r = spawnSync(process.execPath, [tsc, '--strict', '--noEmit', '--target', 'es2022', '--module', 'nodenext',
      '--moduleResolution', 'nodenext', '--lib', 'es2022,dom', 'types-check.ts'], { cwd: new URL('.', import.meta.url).pathname, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
});
