// docs/protocol.md section 4: subscriptions, normalisation and matching.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, publish, startServer } from './helpers.mjs';

let server;
before(async () => { server = await startServer({ env: { MAX_FILTERS_PER_SOCKET: '3' } }); });
after(async () => { await server.stop(); });

let n = 0;
// A fresh user with one socket holding `filters`; returns a probe that tells
// whether an envelope of (type, payload) would reach it.
async function socketWith(filters) {
  const user = `sub-${++n}`;
  const c = await connect(server, user);
  if (filters) await c.subscribe(filters);
  const reaches = async (type, payload) => {
    const body = { userId: user, type, ackTimeoutMs: 0 };
    if (payload !== undefined) body.payload = payload;
    const { json } = await publish(server, body);
    if (json.clientCount) await c.next();
    return json.clientCount === 1;
  };
  return { c, user, reaches };
}

describe('4. subscriptions', () => {
  it('a socket with no filters receives nothing', async () => {
    const { c, reaches } = await socketWith();
    assert.equal(await reaches('message'), false);
    await c.close();
  });

  it('matches type exactly and other keys against payload strings', async () => {
    const { c, reaches } = await socketWith([{ type: 'chat_message', questId: 'q1', nodeId: 'n1' }]);
    assert.equal(await reaches('chat_message', { questId: 'q1', nodeId: 'n1', text: 'hi' }), true);
    assert.equal(await reaches('chat_message', { questId: 'q1' }), false);
    assert.equal(await reaches('Chat_message', { questId: 'q1', nodeId: 'n1' }), false);
    assert.equal(await reaches('chat_message', { questId: 'Q1', nodeId: 'n1' }), false);
    assert.equal(await reaches('chat_message', ['q1', 'n1']), false);
    assert.equal(await reaches('chat_message'), false);
    await c.close();
  });

  it('the number 1 does not equal the string "1"', async () => {
    const { c, reaches } = await socketWith([{ type: 't', n: '1' }]);
    assert.equal(await reaches('t', { n: 1 }), false);
    assert.equal(await reaches('t', { n: '1' }), true);
    await c.close();
  });

  it('a type-only filter matches any payload, none, or null', async () => {
    const { c, reaches } = await socketWith([{ type: 'ping_like' }]);
    assert.equal(await reaches('ping_like'), true);
    assert.equal(await reaches('ping_like', null), true);
    assert.equal(await reaches('ping_like', 5), true);
    assert.equal(await reaches('ping_like', { any: 'thing' }), true);
    await c.close();
  });

  it('keeps only entries with a non-blank string type and string members; trims type only', async () => {
    const { c, reaches } = await socketWith([
      { type: '  spaced  ', room: ' r ' }, { type: 'num', n: 1 }, { type: '   ' }, { room: 'x' }, 'str', 7, null,
    ]);
    assert.equal(await reaches('spaced', { room: ' r ' }), true);
    assert.equal(await reaches('spaced', { room: 'r' }), false);
    assert.equal(await reaches('num', { n: 1 }), false);
    await c.close();
  });

  it('looks at the first 50 entries only, counting dropped ones', async () => {
    const list = Array.from({ length: 49 }, () => 'dropped');
    list.push({ type: 'fiftieth' }, { type: 'fifty-first' });
    const { c, reaches } = await socketWith(list);
    assert.equal(await reaches('fiftieth'), true);
    assert.equal(await reaches('fifty-first'), false);
    await c.close();
  });

  it('collapses duplicates (this server allows 3 filters per socket: duplicates use no slot)', async () => {
    const { c, reaches } = await socketWith([{ type: 'a', k: 'v' }, { k: 'v', type: 'a' }, { type: ' a', k: 'v' }, { type: 'b' }]);
    await c.subscribe([{ type: 'a', k: 'v' }, { type: 'c' }]);
    assert.equal(await reaches('c'), true);  // slots: a, b, c
    c.send({ type: 'subscribe', filters: [{ type: 'd' }] });
    // The per-socket limit is reached: the client is told, in order, before the pong.
    assert.deepEqual(await c.nextJson(), { type: 'filters_refused', limit: 3, refused: 1 });
    await c.barrier();
    assert.equal(await reaches('d'), false);
    await c.close();
  });

  it('unsubscribe removes exactly-equal filters only', async () => {
    const { c, reaches } = await socketWith([{ type: 't', a: '1' }, { type: 'u' }]);
    await c.unsubscribe([{ type: 't' }, { type: 't', a: '1', b: '2' }, { type: 't', a: '2' }]);
    assert.equal(await reaches('t', { a: '1' }), true);
    await c.unsubscribe([]);
    await c.unsubscribe({ type: 't', a: '1' });  // not an array: nothing
    assert.equal(await reaches('t', { a: '1' }), true);
    await c.unsubscribe([{ a: '1', type: ' t ' }]);
    assert.equal(await reaches('t', { a: '1' }), false);
    assert.equal(await reaches('u'), true);
    await c.close();
  });

  it('subscriptions belong to the socket', async () => {
    const { c, user } = await socketWith([{ type: 'mine' }]);
    const other = await connect(server, user);
    const { json } = await publish(server, { userId: user, type: 'mine', ackTimeoutMs: 0 });
    assert.equal(json.clientCount, 1);
    await c.close();
    const after = await publish(server, { userId: user, type: 'mine', ackTimeoutMs: 0 });
    assert.equal(after.json.clientCount, 0);
    await other.close();
  });
});
