#!/usr/bin/env node
// Redis CPU per operation of the two ways to keep a cluster's roster
// (docs/cluster.md, "Why the roster is asked for, not kept"): the commands
// each design sends on a connect, a disconnect, a renewal and a roster
// query, run N times against a fresh redis-server on a free loopback port,
// with two subscribers standing in for two nodes that hold every user.
// Prints microseconds of Redis CPU (utime + stime from /proc) per
// operation. A measurement, not a test: `node scripts/roster-cost.mjs [N]`.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { once } from 'node:events';

const N = Number(process.argv[2] ?? 20000);
const USERS = 1000;
const tick = 100;  // USER_HZ: /proc times are in 1/100 s

const free = await new Promise((r) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => r(p)); }); });
const redis = spawn('redis-server', ['--port', String(free), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 300));
const cpu = () => { const f = readFileSync(`/proc/${redis.pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) / tick; };

const resp = (args) => `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('');
async function client() {
  const s = net.connect(free, '127.0.0.1');
  await once(s, 'connect');
  s.setNoDelay(true);
  let buf = '';
  s.on('data', (d) => { buf += d; });
  return { s, drain: () => { buf = ''; } };
}
// Two "nodes" subscribed to every user channel and to their reply channels.
const subs = [await client(), await client()];
for (const [i, c] of subs.entries()) {
  c.s.write(resp(['SUBSCRIBE', `hf:r:n${i}:x`, ...Array.from({ length: USERS }, (_, u) => `hf:u:user-${u}`)]));
}
await new Promise((r) => setTimeout(r, 200));
const cmd = await client();
let replies = 0;
cmd.s.on('data', (d) => { replies += (d.toString().match(/\r\n/g) ?? []).length; });

async function run(name, perOp) {
  const batch = 200;
  const before = cpu();
  for (let i = 0; i < N; i += batch) {
    let out = '';
    for (let k = i; k < Math.min(N, i + batch); k++) for (const c of perOp(k)) out += resp(c);
    cmd.s.write(out);
    await new Promise((r) => setImmediate(r));
  }
  await new Promise((r) => setTimeout(r, 300));
  const used = cpu() - before;
  return [name, (used * 1e6) / N];
}

const user = (k) => `user-${k % USERS}`;
const rows = [];
rows.push(await run('asked: connect with a device (PUBLISH R1, 2 nodes hear it)', (k) => [['PUBLISH', `hf:u:${user(k)}`, `R1 inc ${Date.now()} phone`]]));
rows.push(await run('asked: roster query (PUBLISH Q1 + 2 answers D1)', (k) => [['PUBLISH', `hf:u:${user(k)}`, 'Q1 n0 x 1'], ['PUBLISH', 'hf:r:n0:x', 'D1 x 1 1\n1 dphone\n'], ['PUBLISH', 'hf:r:n0:x', 'D1 x 1 1\n2 -\n']]));
rows.push(await run('kept: connect (HSET + PEXPIRE)', (k) => [['HSET', `hf:{${user(k)}}:r`, `node-a:${k}`, `phone ${Date.now()}`], ['PEXPIRE', `hf:{${user(k)}}:r`, '60000']]));
rows.push(await run('kept: renewal of a user\'s entry (PEXPIRE)', (k) => [['PEXPIRE', `hf:{${user(k)}}:r`, '60000']]));
rows.push(await run('kept: disconnect (HDEL)', (k) => [['HDEL', `hf:{${user(k)}}:r`, `node-a:${k}`]]));
rows.push(await run('kept: roster query (HGETALL)', (k) => [['HGETALL', `hf:{${user(k)}}:r`]]));
console.log(`| operation (${N} each, ${USERS} users) | Redis CPU per operation |`);
console.log('|---|---:|');
for (const [name, us] of rows) console.log(`| ${name} | ${us.toFixed(1)} µs |`);
for (const c of [...subs, cmd]) c.s.destroy();
redis.kill('SIGKILL');
