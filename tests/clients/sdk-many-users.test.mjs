// The SDK's publish() with `userIds` (docs/protocol.md section 15) against
// the real server binary: one envelope per user, handled by each user's own
// client, one answer with every user's part; and the same rules the server
// applies, checked at the call. Sockets connect to `server.ws` and the
// backend calls `server.http` (two nodes with HOPEFLOW_CLUSTER=1).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, publish } from '../../clients/js/src/index.js';
import { startServer, token, WebSocket } from '../e2e/helpers.mjs';

const quick = { backoffInitialMs: 100, backoffMaxMs: 1000, WebSocket };

describe('SDK: publish to many users (section 15)', () => {
  let server;
  let backend;
  const clients = [];
  before(async () => {
    server = await startServer();
    backend = await token('backend');
  });
  after(async () => {
    for (const c of clients) c.close();
    await server.stop();
  });

  it('each user\'s client handles its own envelope; the answer has every user, in userIds order', async () => {
    const seen = {};
    for (const user of ['sdk-mu-ann', 'sdk-mu-bob']) {
      const c = connect({ url: server.ws, token: await token(user), ...quick });
      clients.push(c);
      c.subscribe({ type: 'note' }, (env) => { seen[user] = env; return `${user} read it`; });
      await c.ready();
    }
    const answer = await publish({
      url: server.http, token: backend, userIds: ['sdk-mu-bob', 'sdk-mu-nobody', ' sdk-mu-ann', 'sdk-mu-bob'],
      type: 'note', payload: { text: 'hi' }, receipts: true,
    });
    assert.deepEqual(Object.keys(answer.users), ['sdk-mu-bob', 'sdk-mu-nobody', 'sdk-mu-ann']);
    assert.equal(answer.clientCount, 2);
    assert.deepEqual(answer.results, ['sdk-mu-bob read it', 'sdk-mu-ann read it']);
    for (const user of ['sdk-mu-ann', 'sdk-mu-bob']) {
      assert.equal(answer.users[user].envelopeId, seen[user].envelopeId);
      assert.equal(seen[user].userId, user);
      assert.deepEqual(answer.users[user].devices.map((d) => d.state), ['acked']);
    }
    assert.deepEqual(answer.users['sdk-mu-nobody'].results, []);
    assert.equal(answer.replayed, undefined);
  });

  it('refuses what the server would refuse, before sending anything', async () => {
    let sent = 0;
    const fetch = async () => { sent++; throw new Error('not sent'); };
    const base = { url: server.http, token: backend, fetch };
    for (const bad of [{ userIds: [] }, { userIds: 'ann' }, { userIds: ['ann', ' '] }, { userIds: ['ann', 5] },
      { userIds: Array.from({ length: 1001 }, (_, i) => `u${i}`) }, { userIds: ['ann'], userId: 'ann' }, {}]) {
      await assert.rejects(publish({ ...base, ...bad }), TypeError, JSON.stringify(bad).slice(0, 80));
    }
    assert.equal(sent, 0);
  });
});
