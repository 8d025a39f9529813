// HopeFlow Realtime client: one module, no dependencies, for browsers and
// Node 20+ (pass `WebSocket` from the npm `ws` package where there is no
// global one). The wire contract is docs/protocol.md; this file is the part
// every client used to write by hand: reconnects with backoff, filters that
// several views share, acks from handlers, recovery of what was missed, token
// refresh, devices and cancels (sections 11-13), and the publish and roster
// calls of backends and the check of their webhooks (section 14). Types:
// index.d.ts.

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

/**
 * The connection states, in the order a connection normally goes through them;
 * 'closed' (by close()) and 'replaced' (by another socket of the same device,
 * close code 4002) are the two ends.
 */
export const STATES = Object.freeze(['connecting', 'open', 'reconnecting', 'closed', 'replaced']);

// --- errors -----------------------------------------------------------------

export class HopeflowError extends Error {
  constructor(message, props = {}) {
    super(message);
    this.name = new.target.name;
    Object.assign(this, props);
  }
}
/** A `publish` (or `devices`) answered with a status other than 200. */
export class PublishError extends HopeflowError {}
export class UnauthorizedError extends PublishError {}   // 401
export class ForbiddenError extends PublishError {}      // 403: not a publisher token
export class BadRequestError extends PublishError {}     // other 4xx
export class ServerError extends PublishError {}         // 5xx
/** The server closed the socket because this client broke the protocol (1002, 1007, 1009). */
export class ProtocolError extends HopeflowError {}
/** A webhook POST whose `hopeflow-signature`, timestamp or body does not verify (see verifyWebhook). */
export class WebhookVerificationError extends HopeflowError {}

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

// --- devices (docs/protocol.md section 11) ----------------------------------------

const DEVICE_RE = /^[!-~]{1,64}$/;

/** Whether `d` is a device name the server accepts: 1-64 printable ASCII characters, `!` to `~`. */
export function isDevice(d) {
  return typeof d === 'string' && DEVICE_RE.test(d);
}

function randomHex(n) {
  const c = globalThis.crypto;
  if (typeof c?.randomUUID === 'function') return c.randomUUID().replace(/-/g, '').slice(0, n);
  // randomUUID exists only in secure contexts (https, localhost); getRandomValues everywhere.
  if (typeof c?.getRandomValues === 'function') {
    return [...c.getRandomValues(new Uint8Array(Math.ceil(n / 2)))].map((b) => b.toString(16).padStart(2, '0')).join('').slice(0, n);
  }
  let out = '';
  while (out.length < n) out += Math.floor(Math.random() * 16).toString(16);
  return out;
}

const tabIds = new Map();  // prefix -> id, for the life of this page or process

/**
 * A device name for this tab: the same across reloads of the tab, another
 * one in every other tab (a duplicated tab included), `<prefix>-<12 hex>`.
 * In a browser it is kept in `sessionStorage` (key `hopeflow.device.<prefix>`);
 * the key is taken out while the page lives and written back on `pagehide`,
 * so a tab duplicated meanwhile (which copies sessionStorage) does not get
 * the same name and replace this tab's socket (close 4002). Without
 * sessionStorage (Node, workers, storage blocked) one name per process.
 */
export function tabDeviceId(prefix = 'tab') {
  if (typeof prefix !== 'string' || !/^[!-~]{0,51}$/.test(prefix)) {
    throw new TypeError('tabDeviceId(prefix): the prefix must be 0-51 printable ASCII characters (! to ~)');
  }
  if (tabIds.has(prefix)) return tabIds.get(prefix);
  const key = `hopeflow.device.${prefix}`;
  let storage = null;
  try { storage = globalThis.sessionStorage ?? null; } catch { /* blocked (sandboxed frame, privacy settings) */ }
  let id = null;
  try {
    const kept = storage?.getItem(key);
    if (isDevice(kept) && (prefix === '' || kept.startsWith(`${prefix}-`))) id = kept;
    storage?.removeItem(key);
  } catch { storage = null; }
  id ??= prefix === '' ? randomHex(12) : `${prefix}-${randomHex(12)}`;
  tabIds.set(prefix, id);
  if (storage && typeof globalThis.addEventListener === 'function') {
    const put = () => { try { storage.setItem(key, id); } catch { /* full or blocked: a new name after the reload */ } };
    const take = () => { try { storage.removeItem(key); } catch { /* as above */ } };
    globalThis.addEventListener('pagehide', put);
    globalThis.addEventListener('pageshow', (ev) => { if (ev?.persisted) take(); });  // back from the bfcache
  }
  return id;
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
  if (code === 4002) return 'replaced';                         // another socket of this device (section 11): the end
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
  #ended = false;  // close() was called, or the server replaced this client (4002): nothing reconnects
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
  // Envelopes delivered and not acked yet: envelopeId -> cancel(). An entry
  // goes when the ack is decided (the handlers finished, or ackTimeoutMs), so
  // there are never more than the envelopes of the last ackTimeoutMs.
  #running = new Map();
  // ready(): waiters not covered by a ping yet, and the pings sent on this
  // socket in order (each an array of waiters, or null for a heartbeat): the
  // server answers every `ping` with a `pong`, in order (section 3).
  #readyUnsent = [];
  #pings = [];
  #barrierQueued = false;

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
    if (options.device !== undefined && options.device !== null && !isDevice(options.device)) {
      throw new TypeError(`device must be 1-64 printable ASCII characters (! to ~), not ${JSON.stringify(options.device)}`);
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

  /** 'connecting' | 'open' | 'reconnecting' | 'closed' | 'replaced' */
  get state() { return this.#state; }
  /** The device this client names (the `device` option), or null. */
  get device() { return this.#o.device ?? null; }
  /** The last recovery position: { epoch, offset }, or null before the first `recovered`. */
  get position() { return this.#epoch === null ? null : { epoch: this.#epoch, offset: this.#offset }; }

  /** Adds a listener; returns a function that removes it. */
  on(event, listener) {
    if (!this.#listeners.has(event)) this.#listeners.set(event, new Set());
    this.#listeners.get(event).add(listener);
    return () => this.#listeners.get(event)?.delete(listener);
  }

  /**
   * Calls `handler(envelope, { signal })` for every envelope that matches
   * `filter`; what it returns (or resolves to) is the ack's result. `signal`
   * is aborted when the server cancels the envelope before it was acked
   * (docs/protocol.md section 12). Returns the unsubscribe function.
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

  /**
   * Resolves once the socket is open and every filter subscribed so far (in
   * this tick included) has been sent on it and handled by the server: the
   * SDK sends a `ping` after them and waits for its `pong` (the server
   * handles a socket's messages in order, section 3). A socket that goes
   * before the pong moves the wait to the next one. Rejects when the client
   * ends (close(), or replaced) or `signal` aborts.
   */
  ready({ signal } = {}) {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      if (this.#ended) return reject(this.#endedError());
      const w = { done: false, resolve, reject, off: null };
      const settle = (fn, arg) => { if (w.done) return; w.done = true; w.off?.(); fn(arg); };
      w.resolve = () => settle(resolve);
      w.reject = (err) => settle(reject, err);
      if (signal) {
        const onAbort = () => w.reject(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        w.off = () => signal.removeEventListener('abort', onAbort);
      }
      this.#readyUnsent.push(w);
      this.#queueBarrier();
    });
  }

  /** Closes for good: no reconnect. After a 4002 the state stays 'replaced'. */
  close() {
    this.#ended = true;
    const ws = this.#ws;
    this.#ws = null;
    if (ws && ws.readyState <= 1) ws.close(1000, 'client closed');
    this.#end(this.#state === 'replaced' ? 'replaced' : 'closed');
  }

  #end(state) {
    this.#ended = true;
    this.#clearTimers();
    for (const t of this.#ackTimers) this.#clock.clearTimeout(t);
    this.#ackTimers.clear();
    this.#running.clear();
    this.#setState(state);
    const waiters = [...this.#readyUnsent, ...this.#pings.flatMap((p) => p ?? [])];
    this.#readyUnsent = [];
    this.#pings = [];
    for (const w of waiters) w.reject(this.#endedError());
  }

  #endedError() {
    return this.#state === 'replaced'
      ? new HopeflowError('the client was replaced by a newer socket of its device (close 4002)', { code: 4002 })
      : new HopeflowError('the client was closed');
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
    if (this.#ended) return;
    const gen = ++this.#generation;
    let token;
    try {
      token = await this.#currentToken();
    } catch (err) {
      if (gen !== this.#generation || this.#ended) return;
      this.#emit('error', new HopeflowError(`token source failed: ${err?.message ?? err}`, { cause: err }));
      this.#needFreshToken = true;
      return this.#retry('retry');
    }
    if (gen !== this.#generation || this.#ended) return;
    const url = toWsUrl(this.#o.url);  // checked in the constructor
    url.searchParams.set('token', token);
    // Percent-encoded by URLSearchParams; the server decodes it (section 11).
    if (this.#o.device != null) url.searchParams.set('device', this.#o.device);
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
      // Waiters for pongs that an earlier socket never sent wait for this one.
      this.#readyUnsent = [...this.#pings.flatMap((p) => p ?? []), ...this.#readyUnsent];
      this.#pings = [];
      this.#resubscribe();
      this.#setState('open');
      this.#emit('open');
      if (this.#ws !== ws) return;  // a listener closed the client
      this.#barrier();
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
      if (this.#ended) return;
      const code = ev?.code ?? 1006;
      const reason = ev?.reason ?? '';
      this.#emit('close', { code, reason, wasOpen: opened });
      if (this.#ended) return;  // a listener closed the client
      let policy = closePolicy(code);
      if (policy === 'replaced') {
        // Another socket of this device took over (section 11): reconnecting
        // would replace it in turn, so this client ends here.
        this.#end('replaced');
        this.#emit('replaced', { code, reason });
        return;
      }
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
    if (this.#ended) return;
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
    if (this.#ended || this.#retryTimer !== null) return;  // a listener closed (or reopened) it
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
      this.#flushNow();
    });
  }

  /** Sends the filter changes not sent yet; on a socket that is not open, nothing (onopen sends them all). */
  #flushNow() {
    if (!this.#ws || this.#ws.readyState !== 1) return;
    const add = [...this.#pendingAdd].map((k) => this.#filters.get(k).filter);
    const remove = [...this.#pendingRemove].map((k) => this.#removed.get(k));
    this.#pendingAdd.clear();
    this.#pendingRemove.clear();
    this.#removed.clear();
    this.#sendChunks('unsubscribe', remove);
    this.#sendChunks('subscribe', add);
  }

  // --- ready(): a ping after the subscribes ---

  #queueBarrier() {
    if (this.#barrierQueued) return;
    this.#barrierQueued = true;
    // A microtask, so that subscribe() calls later in this tick are covered.
    queueMicrotask(() => { this.#barrierQueued = false; this.#barrier(); });
  }

  /** Sends what is pending and a ping whose pong resolves the waiters; on a closed socket, waits for onopen. */
  #barrier() {
    this.#readyUnsent = this.#readyUnsent.filter((w) => !w.done);
    if (this.#readyUnsent.length === 0 || !this.#ws || this.#ws.readyState !== 1) return;
    this.#flushNow();
    if (!this.#send('ping')) return;
    this.#pings.push(this.#readyUnsent);
    this.#readyUnsent = [];
  }

  #onPong() {
    const waiters = this.#pings.shift();
    for (const w of waiters ?? []) w.resolve();
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
    if (text === 'pong') return this.#onPong();
    let msg;
    try { msg = JSON.parse(text); } catch { return; }
    if (msg === null || typeof msg !== 'object') return;
    // A cancel (section 12) has an envelopeId too; an envelope (even one of
    // type "cancel") always carries userId and timestamp.
    if (msg.type === 'cancel' && typeof msg.envelopeId === 'string' && !('userId' in msg) && !('timestamp' in msg)) {
      return this.#onCancel(msg.envelopeId);
    }
    if (typeof msg.envelopeId === 'string') return this.#onEnvelope(msg);
    switch (msg.type) {
      case 'recovered': return this.#onRecovered(msg);
      case 'refreshed':
        if (this.#refreshWait !== null) { this.#clock.clearTimeout(this.#refreshWait); this.#refreshWait = null; }
        this.#emit('tokenRefreshed', { exp: msg.exp });
        if (!this.#ended) this.#scheduleRefresh();
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
    const id = env.envelopeId;
    const controller = new AbortController();
    const context = Object.freeze({ signal: controller.signal });
    const handlers = [...this.#handlers].filter((h) => matches(h.filter, env));
    const results = handlers.map((h) => {
      try {
        return Promise.resolve(h.handler(env, context)).then((v) => v, () => undefined);
      } catch {
        return Promise.resolve(undefined);
      }
    });
    let acked = false;  // the ack is decided: sent, or withheld after a cancel
    const decide = () => {
      acked = true;
      this.#clock.clearTimeout(timer);
      this.#ackTimers.delete(timer);
      if (this.#running.get(id) === cancel) this.#running.delete(id);
    };
    // A cancel before the ack: abort the handlers' signal and send no ack
    // (the publish was answered; an ack now would only reach the backend as
    // a late ack of something it withdrew). The handlers run on; what they
    // return is dropped.
    const cancel = () => {
      if (acked) return false;
      decide();
      controller.abort();
      return true;
    };
    const ack = (result) => {
      if (acked) return;
      decide();
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
    this.#running.set(id, cancel);
    // The first handler (in subscription order) that returns something other
    // than undefined gives the result; none, or a throw: null.
    Promise.all(results).then((values) => ack(values.find((v) => v !== undefined)));
  }

  /** `{"type":"cancel"}` (section 12): the envelope was withdrawn; abort its handlers if they still run. */
  #onCancel(envelopeId) {
    const cancel = this.#running.get(envelopeId);
    const aborted = cancel ? cancel() : false;
    this.#emit('cancel', { envelopeId, aborted });
  }

  // --- heartbeat and refresh ---

  #armHeartbeat() {
    if (this.#deadTimer !== null) { this.#clock.clearTimeout(this.#deadTimer); this.#deadTimer = null; }
    if (this.#heartbeatTimer !== null) this.#clock.clearTimeout(this.#heartbeatTimer);
    if (!(this.#o.heartbeatMs > 0)) return;
    this.#heartbeatTimer = this.#clock.setTimeout(() => {
      this.#heartbeatTimer = null;
      if (!this.#send('ping')) return;
      this.#pings.push(null);  // its pong resolves no ready() waiter
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
      if (this.#ws === ws && ws && !this.#ended) {
        this.#refreshTimer = this.#clock.setTimeout(() => this.#refresh(), this.#o.refreshTimeoutMs);
      }
      return;
    }
    if (this.#ws !== ws || !ws || this.#ended) return;
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
 * `receipts`, `until` and `cancel` (docs/protocol.md section 12) are sent
 * only when given: with `receipts: true` the answer has `devices`, one entry
 * per target. With `userIds` instead of `userId` (section 15: 1 to 1000
 * users, each its own envelope), the answer also has `users`, each user's
 * `{ clientCount, results, envelopeId }` (and `devices`). `webhook: true`
 * (section 14) asks the server to POST `unacked` / `late_ack` events about
 * the envelope to its WEBHOOK_URL; the answer is unchanged. Throws
 * UnauthorizedError, ForbiddenError, BadRequestError or ServerError for
 * other statuses (with `status` and `body`).
 */
export async function publish({
  url, token, userId, userIds, type, payload, ackTimeoutMs, receipts, until, cancel, webhook, idempotencyKey, retries = 2,
  fetch: fetchImpl, signal,
} = {}) {
  if (typeof url !== 'string') throw new TypeError('publish({ url, token, userId, ... }) needs a url');
  if (typeof token !== 'string') throw new TypeError('publish needs a token (a publisher token when PUBLISH_SECRET is set)');
  if (userIds !== undefined) {
    // The server's rule (section 15), checked here so that a typo is found at the call.
    if (userId !== undefined) throw new TypeError('publish takes a userId or userIds, not both');
    if (!Array.isArray(userIds) || userIds.length < 1 || userIds.length > MAX_USER_IDS ||
        !userIds.every((u) => typeof u === 'string' && u.trim() !== '')) {
      throw new TypeError(`publish needs userIds: 1 to ${MAX_USER_IDS} non-blank strings`);
    }
  } else if (typeof userId !== 'string' || userId.trim() === '') {
    throw new TypeError('publish needs a userId (or userIds)');
  }
  const target = toHttpUrl(url);
  target.pathname = target.pathname.replace(/\/?$/, '/publish').replace(/\/publish\/publish$/, '/publish');
  target.search = '';
  const body = userIds !== undefined ? { userIds } : { userId };
  if (type !== undefined) body.type = type;
  if (payload !== undefined) body.payload = payload;
  if (ackTimeoutMs !== undefined) body.ackTimeoutMs = ackTimeoutMs;
  // Checked by the server (a 400 that names the member), not here.
  if (receipts !== undefined) body.receipts = receipts;
  if (until !== undefined) body.until = until;
  if (cancel !== undefined) body.cancel = cancel;
  if (webhook !== undefined) body.webhook = webhook;  // section 14
  // Section 15: every call carries an Idempotency-Key (its own, or one made
  // here; `false`: none), so that a publish whose connection failed is sent
  // again with the same key and performed at most once.
  const key = idempotencyKey === false ? null : (idempotencyKey ?? newIdempotencyKey());
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  if (key !== null) headers['idempotency-key'] = key;
  const init = { method: 'POST', headers, body: JSON.stringify(body), signal };
  for (let attempt = 0; ; attempt++) {
    let res;
    try {
      res = await (fetchImpl ?? fetch)(target.toString(), init);
    } catch (err) {
      // The connection failed: with a key, the server may have it; send it again.
      if (key === null || attempt >= retries || signal?.aborted) throw err;
      await new Promise((r) => setTimeout(r, 100 * 3 ** attempt));
      continue;
    }
    const { text, json } = await readAnswer(res);
    // A retry that finds the first still waiting for acks: wait for its answer.
    if (res.status === 409 && attempt > 0 && attempt < retries + 20) {
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    if (res.status === 200 && json && typeof json.clientCount === 'number' && Array.isArray(json.results)) {
      const degraded = res.headers.get('hopeflow-degraded');
      const replayed = res.headers.get('idempotent-replayed') === 'true';
      return degraded || replayed ? { ...json, ...(degraded && { degraded }), ...(replayed && { replayed }) } : json;
    }
    throw answerError('publish', res, text, json);
  }
}

// The most users one publish may name (docs/protocol.md section 15).
const MAX_USER_IDS = 1000;

// A fresh Idempotency-Key: 128 random bits.
function newIdempotencyKey() {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * GET /users/<userId>/devices (docs/protocol.md section 13): the user's open
 * sockets on every node, `{ userId, devices: [{ device, since }] }`, ordered
 * by `since`; `degraded: true` when the server could list only its own
 * sockets (header `hopeflow-degraded`). Authorised like publish; the same
 * errors.
 */
export async function devices({ url, token, userId, fetch: fetchImpl, signal } = {}) {
  if (typeof url !== 'string') throw new TypeError('devices({ url, token, userId }) needs a url');
  if (typeof token !== 'string') throw new TypeError('devices needs a token (a publisher token when PUBLISH_SECRET is set)');
  if (typeof userId !== 'string' || userId.trim() === '') throw new TypeError('devices needs a userId');
  const target = toHttpUrl(url);
  // The server's base address; a /publish address is accepted too, as by publish().
  const base = target.pathname.replace(/\/+$/, '').replace(/\/publish$/, '');
  // The user as the server keeps it (trimmed, section 1), as one path segment.
  target.pathname = `${base}/users/${encodeURIComponent(userId.trim())}/devices`;
  target.search = '';
  const res = await (fetchImpl ?? fetch)(target.toString(), {
    method: 'GET',
    headers: { authorization: `Bearer ${token}` },
    signal,
  });
  const { text, json } = await readAnswer(res);
  if (res.status === 200 && json && typeof json.userId === 'string' && Array.isArray(json.devices)) {
    return res.headers.get('hopeflow-degraded') ? { ...json, degraded: true } : json;
  }
  throw answerError('devices', res, text, json);
}

// --- webhooks, for backends ------------------------------------------------------

const SIGNATURE_HEADER = 'hopeflow-signature';

/**
 * Checks a webhook POST from the server (docs/protocol.md section 14) and
 * returns its event, parsed. `headers` is the request's headers: a plain
 * object (Node's `req.headers`, names in any case, a value or an array of
 * values), or anything with `get(name)` (fetch's `Headers`). `rawBody` is the
 * body exactly as received (a Buffer / Uint8Array, an ArrayBuffer, or a
 * string): not a re-serialised JSON object. The header is
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed by secret>`;
 * several `v1` entries may be given (while a secret rotates), any may match.
 *
 * Resolves with the event; rejects with WebhookVerificationError when the
 * header is missing or malformed, `t` is more than `toleranceSeconds` from
 * `now` (ms since the epoch, default Date.now()), no signature matches, or the
 * body is not a JSON object; with TypeError for arguments of the wrong kind.
 *
 * Async because it uses WebCrypto (`crypto.subtle`, global in Node 20+ and in
 * browsers' secure contexts), so this module needs no `node:crypto` import and
 * still loads in a browser. `subtle.verify` compares the MAC in constant time
 * (Node: CRYPTO_memcmp; browsers likewise), as timingSafeEqual would.
 */
export async function verifyWebhook(secret, headers, rawBody, { toleranceSeconds = 300, now = Date.now() } = {}) {
  const key = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
  if (!(key instanceof Uint8Array) || key.length === 0) {
    throw new TypeError('verifyWebhook(secret, headers, rawBody) needs the server\'s WEBHOOK_SECRET (a non-empty string)');
  }
  const body = rawBytes(rawBody);
  if (!Number.isFinite(toleranceSeconds) || toleranceSeconds < 0) throw new TypeError('toleranceSeconds must be a number >= 0');
  if (!Number.isFinite(now)) throw new TypeError('now must be a time in ms since the epoch');
  const value = signatureHeader(headers);
  if (value === undefined) throw new WebhookVerificationError(`missing ${SIGNATURE_HEADER} header`);
  const stamps = [];
  const candidates = [];
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) throw new WebhookVerificationError(`malformed ${SIGNATURE_HEADER} header`);
    const name = part.slice(0, eq).trim();
    if (name === 't') stamps.push(part.slice(eq + 1).trim());
    else if (name === 'v1') candidates.push(part.slice(eq + 1).trim());
    // other names: a later scheme, ignored
  }
  if (stamps.length !== 1 || !/^[0-9]+$/.test(stamps[0])) {
    throw new WebhookVerificationError(`malformed ${SIGNATURE_HEADER} header: needs one t=<unix seconds>`);
  }
  if (candidates.length === 0) throw new WebhookVerificationError(`malformed ${SIGNATURE_HEADER} header: no v1 signature`);
  const t = stamps[0];
  if (Math.abs(now / 1000 - Number(t)) > toleranceSeconds) {
    throw new WebhookVerificationError(`timestamp outside the tolerance (t=${t}, ${toleranceSeconds} s allowed)`);
  }
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new HopeflowError('verifyWebhook needs WebCrypto (crypto.subtle): Node 20+, or a secure context');
  const hmacKey = await subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  const prefix = new TextEncoder().encode(`${t}.`);
  const signed = new Uint8Array(prefix.length + body.length);
  signed.set(prefix);
  signed.set(body, prefix.length);
  let matched = false;
  for (const c of candidates) {  // every one is checked, none cut short
    if (!/^[0-9a-f]{64}$/.test(c)) continue;  // the server sends 64 lower-case hex digits
    const mac = Uint8Array.from({ length: 32 }, (_, i) => parseInt(c.slice(2 * i, 2 * i + 2), 16));
    if (await subtle.verify('HMAC', hmacKey, mac, signed)) matched = true;
  }
  if (!matched) throw new WebhookVerificationError('signature does not match');
  let event;
  try {
    event = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch (err) {
    throw new WebhookVerificationError(`body is not JSON: ${err.message}`);
  }
  if (event === null || typeof event !== 'object' || Array.isArray(event)) {
    throw new WebhookVerificationError('body is not a JSON object');
  }
  return event;
}

// The body's bytes as received; a string is taken as its UTF-8 encoding.
function rawBytes(raw) {
  if (typeof raw === 'string') return new TextEncoder().encode(raw);
  if (raw instanceof ArrayBuffer) return new Uint8Array(raw);
  if (ArrayBuffer.isView(raw)) return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);  // Buffer included
  throw new TypeError('verifyWebhook needs the raw request body (a Buffer, Uint8Array, ArrayBuffer or string), '
    + 'not a parsed object: in Express, express.raw({ type: \'application/json\' })');
}

// The hopeflow-signature header's value (several joined with ","), or undefined.
function signatureHeader(headers) {
  if (headers === null || typeof headers !== 'object') throw new TypeError('verifyWebhook needs the request\'s headers');
  if (typeof headers.get === 'function') return headers.get(SIGNATURE_HEADER) ?? undefined;
  const values = [];
  for (const [name, v] of Object.entries(headers)) {
    if (name.toLowerCase() !== SIGNATURE_HEADER || v === undefined || v === null) continue;
    values.push(...(Array.isArray(v) ? v : [v]).map(String));
  }
  return values.length ? values.join(',') : undefined;
}

async function readAnswer(res) {
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* reported by answerError */ }
  return { text, json };
}

/** The error for an answer that is not a success, by status. */
function answerError(what, res, text, json) {
  const message = `${what}: ${res.status} ${json?.error ?? (text.slice(0, 200) || res.statusText)}`;
  const props = { status: res.status, body: json ?? text };
  if (res.status === 401) return new UnauthorizedError(message, props);
  if (res.status === 403) return new ForbiddenError(message, props);
  if (res.status >= 400 && res.status < 500) return new BadRequestError(message, props);
  if (res.status >= 500) return new ServerError(message, props);
  return new PublishError(message, props);  // a redirect, or a 200 that is not an answer
}
