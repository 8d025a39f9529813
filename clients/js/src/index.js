// HopeFlow Realtime client: one module, no dependencies, for browsers and
// Node 20+ (pass `WebSocket` from the npm `ws` package where there is no
// global one). The wire contract is docs/protocol.md; this file is the part
// every client used to write by hand: reconnects with backoff, filters that
// several views share, acks from handlers, recovery of what was missed, and
// token refresh. Types: index.d.ts.

/** Defaults, each explained in README.md ("Defaults"). */
export const DEFAULTS = Object.freeze({
  backoffInitialMs: 500,       // first retry after at most 0.5 s
  backoffMaxMs: 30_000,        // never wait more than 30 s between tries
  slowBackoffMs: 5_000,        // at least this long after 1008 / 1002 / 1007 / 1009
  stableAfterMs: 10_000,       // a socket open this long resets the backoff
  heartbeatMs: 25_000,         // `ping` when the socket has been quiet this long
  heartbeatTimeoutMs: 10_000,  // no frame within this after a ping: the socket is dead
  ackTimeoutMs: 4_000,         // a slow handler is acked with null by then (the server waits 5 s)
  refreshLeadMs: 60_000,       // refresh a token this long before its exp
  refreshTimeoutMs: 10_000,    // no `refreshed` by then: reconnect with a fresh token
  refresh: true,               // refresh tokens from a token function on the open socket (section 8)
  recover: true,               // opt in to offsets and recovery (docs/protocol.md section 7)
  dedupeWindow: 1_000,         // envelope ids remembered to drop duplicates
});

const CHUNK = 50;  // the server looks at 50 filters per message (section 4)

/** The connection states, in the order a connection normally goes through them. */
export const STATES = Object.freeze(['connecting', 'open', 'reconnecting', 'closed']);

// --- errors -----------------------------------------------------------------

export class HopeflowError extends Error {
  constructor(message, props = {}) {
    super(message);
    this.name = new.target.name;
    Object.assign(this, props);
  }
}
/** A `publish` answered with a status other than 200. */
export class PublishError extends HopeflowError {}
export class UnauthorizedError extends PublishError {}   // 401
export class ForbiddenError extends PublishError {}      // 403: not a publisher token
export class BadRequestError extends PublishError {}     // other 4xx
export class ServerError extends PublishError {}         // 5xx
/** The server closed the socket because this client broke the protocol (1002, 1007, 1009). */
export class ProtocolError extends HopeflowError {}

// --- filters ------------------------------------------------------------------

/**
 * A filter as the server keeps it (section 4): `type` trimmed and non-blank,
 * every other member a string. Throws TypeError otherwise, so that a typo is
 * found at the call, not by a subscription that silently matches nothing.
 */
export function normalizeFilter(filter) {
  if (filter === null || typeof filter !== 'object' || Array.isArray(filter)) {
    throw new TypeError('a filter is an object such as { type: "chat_message" }');
  }
  if (typeof filter.type !== 'string' || filter.type.trim() === '') {
    throw new TypeError('a filter needs a non-blank string `type`');
  }
  const out = { type: filter.type.trim() };
  for (const k of Object.keys(filter).sort()) {
    if (k === 'type') continue;
    if (typeof filter[k] !== 'string') throw new TypeError(`filter member "${k}" must be a string`);
    // defineProperty: a member named __proto__ is kept as data, like any other.
    Object.defineProperty(out, k, { value: filter[k], enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function filterKey(normalized) {
  return JSON.stringify(Object.keys(normalized).sort().map((k) => [k, normalized[k]]));
}

/** Whether a normalised filter matches an envelope, exactly as the server decides. */
export function matches(filter, envelope) {
  if (filter.type !== envelope.type) return false;
  const p = envelope.payload;
  for (const k of Object.keys(filter)) {
    if (k === 'type') continue;
    if (p === null || typeof p !== 'object' || Array.isArray(p) || p[k] !== filter[k]) return false;
  }
  return true;
}

// --- small pieces -------------------------------------------------------------

/** The `exp` of a JWT in seconds, or null (the token is not verified here). */
export function tokenExp(token) {
  try {
    const part = String(token).split('.')[1];
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
    const json = typeof atob === 'function'
      ? atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4))
      : Buffer.from(b64, 'base64').toString('binary');
    const exp = JSON.parse(json).exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp : null;
  } catch {
    return null;
  }
}

/**
 * Full-jitter exponential backoff: a uniform wait in [0, min(max, initial * 2^attempt)),
 * never below `floorMs` (used after slow-consumer and protocol closes).
 */
export function backoffDelay(attempt, { initialMs, maxMs, floorMs = 0, random = Math.random }) {
  const cap = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.min(maxMs, floorMs + Math.floor(random() * cap));
}

/** What to do after a close: the policy of README.md ("Close codes"). */
export function closePolicy(code) {
  if (code === 4001) return 'fresh-token';                      // token expired
  if (code === 1008) return 'slow';                             // slow consumer: back off longer
  if (code === 1002 || code === 1007 || code === 1009) return 'protocol-error';
  return 'retry';                                               // 1001, 1006 (abnormal), 1011, 1012, ...
}

function toWsUrl(url) {
  const u = new URL(url);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  else if (u.protocol === 'https:') u.protocol = 'wss:';
  else if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new TypeError(`not a WebSocket URL: ${url}`);
  return u;
}

function toHttpUrl(url) {
  const u = new URL(url);
  if (u.protocol === 'ws:') u.protocol = 'http:';
  else if (u.protocol === 'wss:') u.protocol = 'https:';
  return u;
}

const realClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id),
};

// --- the client -------------------------------------------------------------

/**
 * Opens a connection that keeps itself open until `close()`.
 * @param {import('./index.d.ts').ConnectOptions} options
 */
export function connect(options) {
  return new RealtimeClient(options);
}

export class RealtimeClient {
  #o;
  #clock;
  #random;
  #WebSocket;
  #listeners = new Map();
  #state = 'connecting';
  #ws = null;
  #token = null;
  #needFreshToken = true;
  #attempt = 0;
  #floorMs = 0;
  #failedOpens = 0;  // consecutive connections that never opened
  #retryTimer = null;
  #stableTimer = null;
  #heartbeatTimer = null;
  #deadTimer = null;
  #refreshTimer = null;
  #refreshWait = null;
  #closedByUser = false;
  #generation = 0;
  // Filters: key -> { filter, count }. Sent when a count goes 0 -> 1, removed at 1 -> 0.
  #filters = new Map();
  #pendingAdd = new Set();
  #pendingRemove = new Set();
  #flushQueued = false;
  #handlers = new Set();
  // Recovery: the last position seen, and ids already handled.
  #epoch = null;
  #offset = null;
  #unknownGap = false;  // a socket went before any position was known
  #seen = new Set();
  #ackTimers = new Set();  // handlers not finished yet (cleared by close())

  constructor(options) {
    if (!options || typeof options.url !== 'string') throw new TypeError('connect({ url, token }) needs a url');
    if (typeof options.token !== 'string' && typeof options.token !== 'function') {
      throw new TypeError('token must be a string or a function that returns one');
    }
    try {
      toWsUrl(options.url);
    } catch {
      throw new TypeError(`url must be an absolute ws://, wss://, http:// or https:// URL, not '${options.url}'`);
    }
    this.#o = { ...DEFAULTS, ...options };
    this.#clock = options.clock ?? realClock;
    this.#random = options.random ?? Math.random;
    this.#WebSocket = options.WebSocket ?? globalThis.WebSocket;
    if (typeof this.#WebSocket !== 'function') {
      throw new TypeError('no WebSocket here: pass one, e.g. connect({ ..., WebSocket: (await import("ws")).WebSocket })');
    }
    this.#open();
  }

  /** 'connecting' | 'open' | 'reconnecting' | 'closed' */
  get state() { return this.#state; }
  /** The last recovery position: { epoch, offset }, or null before the first `recovered`. */
  get position() { return this.#epoch === null ? null : { epoch: this.#epoch, offset: this.#offset }; }

  /** Adds a listener; returns a function that removes it. */
  on(event, listener) {
    if (!this.#listeners.has(event)) this.#listeners.set(event, new Set());
    this.#listeners.get(event).add(listener);
    return () => this.#listeners.get(event)?.delete(listener);
  }

  /**
   * Calls `handler(envelope)` for every envelope that matches `filter`; what it
   * returns (or resolves to) is the ack's result. Returns the unsubscribe function.
   */
  subscribe(filter, handler) {
    if (typeof handler !== 'function') throw new TypeError('subscribe(filter, handler) needs a handler');
    const f = normalizeFilter(filter);
    const key = filterKey(f);
    const entry = { key, filter: f, handler };
    this.#handlers.add(entry);
    const held = this.#filters.get(key);
    if (held) held.count++;
    else {
      this.#filters.set(key, { filter: f, count: 1 });
      if (!this.#pendingRemove.delete(key)) this.#pendingAdd.add(key);
      this.#queueFlush();
    }
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#handlers.delete(entry);
      const h = this.#filters.get(key);
      if (--h.count > 0) return;
      this.#filters.delete(key);
      if (!this.#pendingAdd.delete(key)) this.#pendingRemove.add(key);
      this.#removed.set(key, h.filter);
      this.#queueFlush();
    };
  }
  #removed = new Map();

  /** The filters currently subscribed, normalised, in subscription order. */
  get filters() { return [...this.#filters.values()].map((h) => h.filter); }

  /** Closes for good: no reconnect. */
  close() {
    this.#closedByUser = true;
    this.#clearTimers();
    for (const t of this.#ackTimers) this.#clock.clearTimeout(t);
    this.#ackTimers.clear();
    const ws = this.#ws;
    this.#ws = null;
    if (ws && ws.readyState <= 1) ws.close(1000, 'client closed');
    this.#setState('closed');
  }

  // --- events ---

  #emit(event, arg) {
    for (const fn of [...(this.#listeners.get(event) ?? [])]) {
      try { fn(arg); } catch (e) { queueMicrotask(() => { throw e; }); }
    }
  }

  #setState(s) {
    if (this.#state === s) return;
    this.#state = s;
    this.#emit('state', s);
  }

  // --- connecting ---

  async #open() {
    if (this.#closedByUser) return;
    const gen = ++this.#generation;
    let token;
    try {
      token = await this.#currentToken();
    } catch (err) {
      if (gen !== this.#generation || this.#closedByUser) return;
      this.#emit('error', new HopeflowError(`token source failed: ${err?.message ?? err}`, { cause: err }));
      this.#needFreshToken = true;
      return this.#retry('retry');
    }
    if (gen !== this.#generation || this.#closedByUser) return;
    const url = toWsUrl(this.#o.url);  // checked in the constructor
    url.searchParams.set('token', token);
    let ws;
    try {
      ws = new this.#WebSocket(url.toString());
    } catch (err) {
      this.#emit('error', new HopeflowError(`cannot open ${this.#o.url}: ${err?.message ?? err}`, { cause: err }));
      return this.#retry('retry');
    }
    this.#ws = ws;
    let opened = false;
    let rejected = false;  // npm `ws` reports the upgrade's status; browsers do not
    ws.onopen = () => {
      if (this.#ws !== ws) return;
      opened = true;
      this.#failedOpens = 0;
      this.#resubscribe();
      this.#setState('open');
      this.#emit('open');
      if (this.#ws !== ws) return;  // a listener closed the client
      this.#armHeartbeat();
      this.#scheduleRefresh();
      this.#stableTimer = this.#clock.setTimeout(() => { this.#attempt = 0; this.#floorMs = 0; }, this.#o.stableAfterMs);
    };
    ws.onmessage = (ev) => {
      if (this.#ws !== ws) return;
      this.#armHeartbeat();
      this.#onFrame(typeof ev.data === 'string' ? ev.data : String(ev.data));
    };
    ws.onerror = (ev) => {
      if (this.#ws !== ws) return;
      const msg = ev?.message ?? ev?.error?.message ?? '';
      if (/\b401\b/.test(msg)) rejected = true;
    };
    ws.onclose = (ev) => {
      if (this.#ws !== ws) return;
      this.#ws = null;
      this.#clearTimers();
      if (this.#closedByUser) return;
      const code = ev?.code ?? 1006;
      const reason = ev?.reason ?? '';
      this.#emit('close', { code, reason, wasOpen: opened });
      let policy = closePolicy(code);
      // A socket refused with 401 needs a fresh token. Browsers cannot tell a
      // 401 from a server that is down, so after every third connection in a
      // row that never opened the next try starts from a fresh token too
      // (a token endpoint is not asked once per retry during an outage).
      if (!opened && (rejected || ++this.#failedOpens % 3 === 0)) this.#needFreshToken = true;
      // Opened and gone before the first `recovered` frame: there is no
      // position to recover from, so what was published meanwhile cannot be
      // vouched for; the next `recovered` frame reports it.
      if (opened && this.#o.recover && this.#epoch === null) this.#unknownGap = true;
      if (policy === 'fresh-token') this.#needFreshToken = true;
      if (policy === 'protocol-error') {
        this.#emit('error', new ProtocolError(`the server closed the socket with ${code} ${reason}`.trim(), { code, reason }));
      }
      this.#retry(policy);
    };
  }

  async #currentToken() {
    const t = this.#o.token;
    if (typeof t === 'string') return t;
    const exp = this.#token === null ? null : tokenExp(this.#token);
    const stale = exp !== null && exp * 1000 <= this.#clock.now() + 5_000;
    if (this.#needFreshToken || this.#token === null || stale) {
      const fresh = await t();
      if (typeof fresh !== 'string' || fresh === '') throw new TypeError('the token function returned no token');
      this.#token = fresh;
      this.#needFreshToken = false;
    }
    return this.#token;
  }

  #retry(policy) {
    if (this.#closedByUser) return;
    this.#setState('reconnecting');
    if (policy === 'slow' || policy === 'protocol-error') this.#floorMs = this.#o.slowBackoffMs;
    // A token that expired on a long-lived socket is replaced at once
    // (attempt 0 after stableAfterMs; jittered, in case every tab does it);
    // sockets closed again and again still back off.
    const attempt = this.#attempt++;
    const delay = backoffDelay(attempt, {
      initialMs: this.#o.backoffInitialMs, maxMs: this.#o.backoffMaxMs, floorMs: this.#floorMs, random: this.#random,
    });
    this.#emit('reconnecting', { attempt, delayMs: delay });
    if (this.#closedByUser || this.#retryTimer !== null) return;  // a listener closed (or reopened) it
    this.#retryTimer = this.#clock.setTimeout(() => { this.#retryTimer = null; this.#open(); }, delay);
  }

  #clearTimers() {
    for (const t of [this.#retryTimer, this.#stableTimer, this.#heartbeatTimer, this.#deadTimer, this.#refreshTimer, this.#refreshWait]) {
      if (t !== null) this.#clock.clearTimeout(t);
    }
    this.#retryTimer = this.#stableTimer = this.#heartbeatTimer = this.#deadTimer = this.#refreshTimer = this.#refreshWait = null;
  }

  #send(obj) {
    const ws = this.#ws;
    if (!ws || ws.readyState !== 1) return false;
    ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj));
    return true;
  }

  /** Drops the socket and reconnects (used when it looks dead or a refresh failed). */
  #abandon(reason, freshToken) {
    const ws = this.#ws;
    if (!ws) return;
    this.#ws = null;
    this.#clearTimers();
    try {
      if (typeof ws.terminate === 'function') ws.terminate();  // npm ws: no close handshake with a dead peer
      else ws.close(4000, reason);
    } catch { /* already closing */ }
    if (freshToken) this.#needFreshToken = true;
    this.#emit('close', { code: 4000, reason, wasOpen: true });
    this.#retry('retry');
  }

  // --- filters on the wire ---

  #queueFlush() {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    queueMicrotask(() => {
      this.#flushQueued = false;
      if (!this.#ws || this.#ws.readyState !== 1) return;  // sent on open
      const add = [...this.#pendingAdd].map((k) => this.#filters.get(k).filter);
      const remove = [...this.#pendingRemove].map((k) => this.#removed.get(k));
      this.#pendingAdd.clear();
      this.#pendingRemove.clear();
      this.#removed.clear();
      this.#sendChunks('unsubscribe', remove);
      this.#sendChunks('subscribe', add);
    });
  }

  #sendChunks(type, filters) {
    for (let i = 0; i < filters.length; i += CHUNK) this.#send({ type, filters: filters.slice(i, i + CHUNK) });
  }

  #resubscribe() {
    this.#pendingAdd.clear();
    this.#pendingRemove.clear();
    this.#removed.clear();
    this.#sendChunks('subscribe', this.filters);
    if (this.#o.recover) {
      // After the subscribes: the server replays against the filters it has then.
      this.#send(this.#epoch === null ? { type: 'recover' } : { type: 'recover', epoch: this.#epoch, offset: this.#offset });
    }
  }

  // --- frames ---

  #onFrame(text) {
    if (text === 'pong') return;
    let msg;
    try { msg = JSON.parse(text); } catch { return; }
    if (msg === null || typeof msg !== 'object') return;
    if (typeof msg.envelopeId === 'string') return this.#onEnvelope(msg);
    switch (msg.type) {
      case 'recovered': return this.#onRecovered(msg);
      case 'refreshed':
        if (this.#refreshWait !== null) { this.#clock.clearTimeout(this.#refreshWait); this.#refreshWait = null; }
        this.#emit('tokenRefreshed', { exp: msg.exp });
        if (!this.#closedByUser) this.#scheduleRefresh();
        return;
      case 'refresh_failed':
        this.#emit('error', new HopeflowError(`token refresh failed: ${msg.reason}`, { reason: msg.reason }));
        this.#abandon('token refresh failed', true);
        return;
    }
  }

  #onRecovered(msg) {
    const hadPosition = this.#epoch !== null;
    const info = { epoch: msg.epoch, offset: msg.offset, recovered: msg.recovered === true };
    if (info.recovered) {
      this.#offset = Math.max(this.#offset ?? 0, msg.offset);
    } else {
      this.#offset = msg.offset;
    }
    this.#epoch = msg.epoch;
    const gap = this.#unknownGap;
    this.#unknownGap = false;
    this.#emit('recovered', info);
    // Without a position (the first connection) there was nothing to
    // recover, unless an earlier socket went before it had one.
    if (!info.recovered && (hadPosition || gap)) this.#emit('recoveryFailed', info);
  }

  #onEnvelope(env) {
    if (typeof env.offset === 'number' && this.#epoch !== null) {
      this.#offset = Math.max(this.#offset ?? 0, env.offset);
    }
    if (this.#seen.has(env.envelopeId)) {
      // Delivered before (a replay after a reconnect): ack again, handle once.
      this.#send({ type: 'ack', envelopeId: env.envelopeId, result: null });
      return;
    }
    this.#seen.add(env.envelopeId);
    if (this.#seen.size > this.#o.dedupeWindow) this.#seen.delete(this.#seen.values().next().value);
    this.#emit('envelope', env);
    const ws = this.#ws;
    const handlers = [...this.#handlers].filter((h) => matches(h.filter, env));
    const results = handlers.map((h) => {
      try {
        return Promise.resolve(h.handler(env)).then((v) => v, () => undefined);
      } catch {
        return Promise.resolve(undefined);
      }
    });
    let acked = false;
    const ack = (result) => {
      if (acked) return;
      acked = true;
      this.#clock.clearTimeout(timer);
      this.#ackTimers.delete(timer);
      // Only on the socket that delivered it: the server ignores acks from others.
      if (this.#ws !== ws) return;
      let text;
      try {
        text = JSON.stringify({ type: 'ack', envelopeId: env.envelopeId, result: result === undefined ? null : result });
      } catch (err) {
        // A result JSON cannot carry (a BigInt, a cycle): acked with null, and said.
        this.#emit('error', new HopeflowError(`ack result not serialisable: ${err?.message ?? err}`, { cause: err }));
        text = JSON.stringify({ type: 'ack', envelopeId: env.envelopeId, result: null });
      }
      this.#send(text);
    };
    const timer = this.#clock.setTimeout(() => ack(null), this.#o.ackTimeoutMs);
    this.#ackTimers.add(timer);
    // The first handler (in subscription order) that returns something other
    // than undefined gives the result; none, or a throw: null.
    Promise.all(results).then((values) => ack(values.find((v) => v !== undefined)));
  }

  // --- heartbeat and refresh ---

  #armHeartbeat() {
    if (this.#deadTimer !== null) { this.#clock.clearTimeout(this.#deadTimer); this.#deadTimer = null; }
    if (this.#heartbeatTimer !== null) this.#clock.clearTimeout(this.#heartbeatTimer);
    if (!(this.#o.heartbeatMs > 0)) return;
    this.#heartbeatTimer = this.#clock.setTimeout(() => {
      this.#heartbeatTimer = null;
      if (!this.#send('ping')) return;
      this.#deadTimer = this.#clock.setTimeout(() => this.#abandon('heartbeat timeout', false), this.#o.heartbeatTimeoutMs);
    }, this.#o.heartbeatMs);
  }

  #scheduleRefresh() {
    if (this.#refreshTimer !== null) { this.#clock.clearTimeout(this.#refreshTimer); this.#refreshTimer = null; }
    if (!this.#o.refresh || typeof this.#o.token !== 'function' || this.#token === null) return;
    const exp = tokenExp(this.#token);
    if (exp === null) return;
    const left = exp * 1000 - this.#clock.now();
    // Too late to refresh: the server closes with 4001 and we reconnect with a fresh token.
    if (left <= 2_000) return;
    const lead = Math.min(this.#o.refreshLeadMs, left / 2);
    this.#refreshTimer = this.#clock.setTimeout(() => this.#refresh(), Math.max(1_000, left - lead));
  }

  async #refresh() {
    this.#refreshTimer = null;
    const ws = this.#ws;
    let fresh;
    try {
      this.#needFreshToken = true;
      fresh = await this.#currentToken();
    } catch (err) {
      this.#emit('error', new HopeflowError(`token source failed: ${err?.message ?? err}`, { cause: err }));
      // Tried again while the old token lasts; past it, the 4001 close gets a fresh one.
      if (this.#ws === ws && ws && !this.#closedByUser) {
        this.#refreshTimer = this.#clock.setTimeout(() => this.#refresh(), this.#o.refreshTimeoutMs);
      }
      return;
    }
    if (this.#ws !== ws || !ws || this.#closedByUser) return;
    this.#send({ type: 'refresh', token: fresh });
    // A server without section 8 never answers: reconnect with the fresh token instead.
    this.#refreshWait = this.#clock.setTimeout(() => { this.#refreshWait = null; this.#abandon('token refresh unanswered', false); },
      this.#o.refreshTimeoutMs);
  }
}

// --- publishing, for backends ---------------------------------------------------

/**
 * POST /publish and wait for the answer: `{ clientCount, results }` (and
 * `degraded` when the server said so in its `hopeflow-degraded` header).
 * Throws UnauthorizedError, ForbiddenError, BadRequestError or ServerError
 * for other statuses (with `status` and `body`).
 */
export async function publish({ url, token, userId, type, payload, ackTimeoutMs, fetch: fetchImpl, signal } = {}) {
  if (typeof url !== 'string') throw new TypeError('publish({ url, token, userId, ... }) needs a url');
  if (typeof token !== 'string') throw new TypeError('publish needs a token (a publisher token when PUBLISH_SECRET is set)');
  if (typeof userId !== 'string' || userId.trim() === '') throw new TypeError('publish needs a userId');
  const target = toHttpUrl(url);
  target.pathname = target.pathname.replace(/\/?$/, '/publish').replace(/\/publish\/publish$/, '/publish');
  target.search = '';
  const body = { userId };
  if (type !== undefined) body.type = type;
  if (payload !== undefined) body.payload = payload;
  if (ackTimeoutMs !== undefined) body.ackTimeoutMs = ackTimeoutMs;
  const res = await (fetchImpl ?? fetch)(target.toString(), {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal,
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* reported below */ }
  if (res.status === 200 && json && typeof json.clientCount === 'number' && Array.isArray(json.results)) {
    const degraded = res.headers.get('hopeflow-degraded');
    return degraded ? { ...json, degraded } : json;
  }
  const message = `publish: ${res.status} ${json?.error ?? (text.slice(0, 200) || res.statusText)}`;
  const props = { status: res.status, body: json ?? text };
  if (res.status === 401) throw new UnauthorizedError(message, props);
  if (res.status === 403) throw new ForbiddenError(message, props);
  if (res.status >= 400 && res.status < 500) throw new BadRequestError(message, props);
  if (res.status >= 500) throw new ServerError(message, props);
  throw new PublishError(message, props);  // a redirect, or a 200 that is not an answer
}
