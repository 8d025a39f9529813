// docs/protocol.md section 2: routing and the CORS/content-type headers.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { connect, publish, refusedUpgrade, startServer, token } from './helpers.mjs';

let server;
before(async () => { server = await startServer(); });
after(async () => { await server.stop(); });

// One raw HTTP/1.1 exchange, to see exactly what goes over the wire.
function raw(request) {
  return new Promise((resolve, reject) => {
    const s = net.connect(server.port, '127.0.0.1', () => s.end(request));
    let data = '';
    s.on('data', (d) => { data += d; });
    s.on('end', () => resolve(data));
    s.on('error', reject);
  });
}

describe('2. routing', () => {
  it('upgrades on any path', async () => {
    for (const path of ['/', '/connect', '/publish', '/a/b?c=d']) {
      const ws = await connect(server, 'router', { path });
      await ws.barrier();
      await ws.close();
    }
  });

  it('checks the upgrade first: an upgrade to /publish without token is a text 401', async () => {
    const r = await refusedUpgrade(server, { path: '/publish' });
    assert.equal(r.status, 401);
    assert.equal(r.body, 'Unauthorized');
  });

  it('answers OPTIONS /publish with 204, CORS headers and max-age, no body', async () => {
    const res = await fetch(`${server.http}/publish`, { method: 'OPTIONS' });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.equal(res.headers.get('access-control-allow-headers'), 'authorization,content-type');
    assert.equal(res.headers.get('access-control-allow-methods'), 'POST,OPTIONS');
    assert.equal(res.headers.get('access-control-max-age'), '86400');
    assert.equal(await res.text(), '');
    const wire = await raw('OPTIONS /publish HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(wire, /^HTTP\/1\.1 204 /);
    assert.doesNotMatch(wire, /content-length: [1-9]/i);
  });

  it('answers everything else with 404 "Not Found"', async () => {
    for (const [method, path] of [['GET', '/publish'], ['OPTIONS', '/x'], ['GET', '/'], ['POST', '/publish/'], ['PUT', '/publish'], ['DELETE', '/']]) {
      const res = await fetch(`${server.http}${path}`, { method });
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(await res.text(), 'Not Found');
      assert.match(res.headers.get('content-type'), /^text\/plain/);
    }
  });

  it('puts the CORS and JSON headers on every /publish answer', async () => {
    const answers = [
      await publish(server, { userId: 'u' }),
      await publish(server, { userId: 'u' }, { tok: 'bad' }),
      await publish(server, 'x', { contentType: 'text/plain' }),
      await publish(server, '{', {}),
      await publish(server, '{}', {}),
    ];
    assert.deepEqual(answers.map((a) => a.status), [200, 401, 415, 400, 400]);
    for (const a of answers) {
      assert.equal(a.headers.get('access-control-allow-origin'), '*');
      assert.equal(a.headers.get('access-control-allow-headers'), 'authorization,content-type');
      assert.equal(a.headers.get('access-control-allow-methods'), 'POST,OPTIONS');
      assert.equal(a.headers.get('content-type'), 'application/json; charset=utf-8');
    }
  });

  it('keeps HTTP/1.1 connections alive across publishes and honours Expect: 100-continue', async () => {
    const t = await token('p');
    const body = JSON.stringify({ userId: 'nobody', payload: 'x'.repeat(4000) });
    const req = `POST /publish HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n`;
    const wire = await new Promise((resolve, reject) => {
      const s = net.connect(server.port, '127.0.0.1', () => {
        s.write(`${req}\r\n${body}`);
        s.write(`${req}Expect: 100-continue\r\nConnection: close\r\n\r\n`);
        setTimeout(() => s.write(body), 50);
      });
      let data = '';
      s.on('data', (d) => { data += d; });
      s.on('end', () => resolve(data));
      s.on('error', reject);
    });
    assert.equal(wire.match(/HTTP\/1\.1 200 OK/g).length, 2);
    assert.match(wire, /HTTP\/1\.1 100 Continue/);
  });
});
