// A clock whose time moves only when the test says so, and a WebSocket whose
// every event the test triggers: the SDK's policies (backoff, close codes,
// heartbeat, ack timeouts, chunking) checked without waiting for real time.

export class FakeClock {
  #t = 1_700_000_000_000;
  #timers = new Map();
  #next = 1;
  now() { return this.#t; }
  setTimeout(fn, ms) {
    const id = this.#next++;
    this.#timers.set(id, { at: this.#t + Math.max(0, ms), fn });
    return id;
  }
  clearTimeout(id) { this.#timers.delete(id); }
  /** Pending timers' delays from now, soonest first. */
  pending() { return [...this.#timers.values()].map((t) => t.at - this.#t).sort((a, b) => a - b); }
  /** Moves time forward by `ms`, firing timers in order (and microtasks between them). */
  async advance(ms) {
    const end = this.#t + ms;
    for (;;) {
      await flush();
      let first = null;
      for (const [id, t] of this.#timers) if (t.at <= end && (first === null || t.at < first[1].at)) first = [id, t];
      if (!first) break;
      this.#timers.delete(first[0]);
      this.#t = first[1].at;
      first[1].fn();
    }
    this.#t = end;
    await flush();
  }
}

export async function flush() {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
}

/** A WebSocket class that records its instances; `open()`, `message()`, `close()` drive them. */
export function fakeWebSocketClass() {
  const sockets = [];
  class FakeWebSocket {
    constructor(url) {
      this.url = url;
      this.readyState = 0;
      this.sent = [];
      this.onopen = this.onmessage = this.onerror = this.onclose = null;
      sockets.push(this);
    }
    send(data) {
      if (this.readyState !== 1) throw new Error('send on a socket that is not open');
      this.sent.push(data);
    }
    close(code = 1000, reason = '') { this.closedWith = { code, reason }; this.readyState = 3; }
    // test side
    open() { this.readyState = 1; this.onopen?.({}); }
    message(data) { this.onmessage?.({ data: typeof data === 'string' ? data : JSON.stringify(data) }); }
    serverClose(code, reason = '') { this.readyState = 3; this.onclose?.({ code, reason }); }
    json() { return this.sent.filter((s) => s !== 'ping').map((s) => JSON.parse(s)); }
  }
  return { FakeWebSocket, sockets };
}

/**
 * A fetch that records each call ({ url, method, headers, body }) and
 * answers with `respond(call)`: `{ status, body, headers }` (body an object
 * is sent as JSON). Defaults to `200 {"clientCount":0,"results":[]}`.
 */
export function fakeFetch(respond = () => ({ status: 200, body: { clientCount: 0, results: [] } })) {
  const calls = [];
  const fetch = async (url, init = {}) => {
    const call = { url, method: init.method ?? 'GET', headers: init.headers ?? {}, body: init.body === undefined ? undefined : JSON.parse(init.body) };
    calls.push(call);
    const { status = 200, body = null, headers = {} } = respond(call);
    return new Response(typeof body === 'string' ? body : JSON.stringify(body), { status, headers });
  };
  return { fetch, calls };
}
