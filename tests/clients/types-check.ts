// Compiled (not run) by sdk-package.test.mjs with `tsc --strict --noEmit`:
// the SDK's declared types fit the way the README uses it.
import {
  connect, publish, ForbiddenError, PublishError, type Envelope, type PublishManyAnswer, type RealtimeClient,
} from '../../clients/js/src/index.js';

// The browser's own constructor (lib dom) must fit the option as it is.
const client: RealtimeClient = connect({
  url: 'ws://127.0.0.1:8787',
  token: async () => 'a.b.c',
  WebSocket,
  backoffMaxMs: 10_000,
});
const off: () => void = client.subscribe<{ text: string }>({ type: 'chat_message', room: 'r1' }, (env: Envelope<{ text: string }>) => {
  const text: string | undefined = env.payload?.text;
  return { read: text };
});
client.on('recoveryFailed', (info) => { const e: string = info.epoch; void e; });
client.on('state', (s) => { if (s === 'open') off(); });
client.on('close', ({ code, reason }) => { void code; void reason; });

async function backend(): Promise<number> {
  try {
    const answer = await publish<{ read: string }>({ url: 'http://127.0.0.1:8787', token: 't', userId: 'u', type: 'chat_message', payload: { text: 'hi' }, ackTimeoutMs: 0 });
    return answer.results.length + answer.clientCount;
  } catch (e) {
    if (e instanceof ForbiddenError) return -403;
    if (e instanceof PublishError) return -e.status;
    throw e;
  }
}
void backend;

// Section 15: userIds gives the many-users answer, with each user's part.
async function toMany(): Promise<string[]> {
  const many: PublishManyAnswer<string> = await publish<string>({ url: 'http://127.0.0.1:8787', token: 't', userIds: ['a', 'b'], type: 'mention', receipts: true });
  const ids: string[] = Object.values(many.users).map((u) => u.envelopeId);
  const states = Object.values(many.users).flatMap((u) => u.devices ?? []).map((d) => d.state);
  return [...ids, ...states, String(many.clientCount + many.results.length)];
}
void toMany;
