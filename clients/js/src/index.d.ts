// Types for @hopeflow/realtime (src/index.js).

/** An envelope as the server sends it (docs/protocol.md section 5; `offset` with recovery). */
export interface Envelope<P = unknown> {
  envelopeId: string;
  type: string;
  userId: string;
  timestamp: string;
  payload?: P;
  offset?: number;
}

/** Exact-match filter: `type` plus string members matched against the payload. */
export type Filter = { type: string } & Record<string, string>;

/** The second argument of a handler. */
export interface HandlerContext {
  /**
   * Aborted when the server cancels the envelope before this client acked it
   * (docs/protocol.md section 12); no ack is sent for it then.
   */
  readonly signal: AbortSignal;
}

/** What a handler returns (or resolves to) is the ack's `result`; undefined means null. */
export type Handler<P = unknown> = (envelope: Envelope<P>, context: HandlerContext) => unknown | Promise<unknown>;

/** 'closed' (close()) and 'replaced' (close code 4002) are final. */
export type State = 'connecting' | 'open' | 'reconnecting' | 'closed' | 'replaced';

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
}

export interface ConnectOptions {
  /** ws://, wss://, http:// or https:// address of the server. */
  url: string;
  /** A token, or a function called whenever a fresh one is needed. */
  token: string | (() => string | Promise<string>);
  /**
   * A WebSocket constructor where there is no global one (Node 20:
   * `import { WebSocket } from 'ws'`); the browser's and npm ws's both fit.
   */
  WebSocket?: new (url: string) => any;
  /**
   * This socket's device (docs/protocol.md section 11), sent as the `device`
   * query parameter: 1-64 printable ASCII characters (`!` to `~`), else the
   * constructor throws. A newer socket of the same user and device replaces
   * this one (close 4002, state 'replaced'). See tabDeviceId().
   */
  device?: string | null;
  /** Opt in to offsets and recovery of missed envelopes (default true). */
  recover?: boolean;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  slowBackoffMs?: number;
  stableAfterMs?: number;
  heartbeatMs?: number;
  heartbeatTimeoutMs?: number;
  ackTimeoutMs?: number;
  refreshLeadMs?: number;
  refreshTimeoutMs?: number;
  /** Refresh a token from a token function before its exp, on the open socket (default true). */
  refresh?: boolean;
  dedupeWindow?: number;
  /** For tests: time and timers. */
  clock?: Clock;
  /** For tests: the jitter source, uniform in [0, 1). */
  random?: () => number;
}

/** What the client uses of a WebSocket (for fakes in tests). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
}

export interface RecoveredInfo {
  epoch: string;
  offset: number;
  recovered: boolean;
}

export interface CloseInfo {
  code: number;
  reason: string;
  wasOpen: boolean;
}

export interface CancelInfo {
  envelopeId: string;
  /** Whether handlers of that envelope were still running (their signal is now aborted). */
  aborted: boolean;
}

export interface Events {
  state: State;
  open: undefined;
  close: CloseInfo;
  /** Closed with 4002: a newer socket of the same device took over; the client does not reconnect. */
  replaced: { code: number; reason: string };
  /** The server withdrew an envelope this client had not acked (section 12). */
  cancel: CancelInfo;
  reconnecting: { attempt: number; delayMs: number };
  envelope: Envelope;
  recovered: RecoveredInfo;
  /** The server could not replay what was missed: reload the app's state. */
  recoveryFailed: RecoveredInfo;
  tokenRefreshed: { exp: number | null };
  error: HopeflowError;
}

export declare class RealtimeClient {
  constructor(options: ConnectOptions);
  readonly state: State;
  /** The `device` option, or null. */
  readonly device: string | null;
  readonly position: { epoch: string; offset: number } | null;
  readonly filters: Filter[];
  on<E extends keyof Events>(event: E, listener: (arg: Events[E]) => void): () => void;
  subscribe<P = unknown>(filter: Filter, handler: Handler<P>): () => void;
  /**
   * Resolves once the socket is open and every filter subscribed so far has
   * been handled by the server (a ping/pong barrier). Rejects when the client
   * is closed or replaced, or `signal` aborts.
   */
  ready(options?: { signal?: AbortSignal }): Promise<void>;
  close(): void;
}

export declare function connect(options: ConnectOptions): RealtimeClient;

interface PublishCommon<P = unknown> {
  url: string;
  token: string;
  type?: string;
  payload?: P;
  /** How long the server waits for acks (0 = do not wait), capped by its configuration. */
  ackTimeoutMs?: number;
  /** Add `devices` (one receipt per target) to the answer (section 12). */
  receipts?: boolean;
  /** Answer once this many targets acked ('first' = 1; default 'all'). */
  until?: 'all' | 'first' | number;
  /** Once answered, send a `cancel` to targets that named a device and have not acked. */
  cancel?: boolean;
  /**
   * Ask for webhook events about the envelope (section 14): `unacked` when no
   * target acked before the answer, `late_ack` for acks after it. The server
   * answers 400 when it has no WEBHOOK_URL; the answer is otherwise unchanged.
   */
  webhook?: boolean;
  /**
   * The Idempotency-Key header (section 15): by default a fresh key for each
   * call, so that a call whose connection failed is sent again (up to
   * `retries` times) and performed at most once; a string of your own (the
   * same for a retry of yours); `false`: no key, no retry.
   */
  idempotencyKey?: string | false;
  /** Resends after a failed connection (default 2). */
  retries?: number;
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

/** A publish to one user. */
export interface PublishOptions<P = unknown> extends PublishCommon<P> {
  userId: string;
  userIds?: never;
}

/**
 * A publish to many users (section 15): 1 to 1000 user ids, each non-blank
 * (trimmed by the server; a user named twice counts once). Each user gets
 * an envelope of its own; `until` and `cancel` work per user.
 */
export interface PublishManyOptions<P = unknown> extends PublishCommon<P> {
  userIds: string[];
  userId?: never;
}

/** One target of a publish with `receipts: true`. */
export interface DeviceReceipt<R = unknown> {
  device: string | null;
  /** acked; pending: open, not acked when the answer was sent; gone: closed, replaced or failed first. */
  state: 'acked' | 'pending' | 'gone';
  /** Acked entries only. */
  result?: R;
  /** Acked entries only: ms from the publish's arrival to the ack. */
  ackMs?: number;
}

export interface PublishAnswer<R = unknown> {
  clientCount: number;
  results: R[];
  /** With `receipts: true`: acked entries first (in ack order, `results[i]` is `devices[i].result`), then pending, then gone. */
  devices?: DeviceReceipt<R>[];
  /** Present when the server answered from a degraded state (`hopeflow-degraded`). */
  degraded?: string;
  /** True when this is the first answer of the same Idempotency-Key again (nothing was delivered). */
  replayed?: boolean;
}

/** One user's part of a many-users answer: that user's envelope's answer, and its id. */
export interface UserAnswer<R = unknown> {
  clientCount: number;
  results: R[];
  /** With `receipts: true`: this user's targets, as in `PublishAnswer.devices`. */
  devices?: DeviceReceipt<R>[];
  /** Present when some of this user's results were left out by the server's result limits. */
  resultsDropped?: number;
  envelopeId: string;
}

export interface PublishManyAnswer<R = unknown> {
  /** The sum of the users' `clientCount`. */
  clientCount: number;
  /** Every user's results, one user after the other in the order of `users`. */
  results: R[];
  /** One entry per user, in the order of `userIds` (trimmed, duplicates removed). */
  users: Record<string, UserAnswer<R>>;
  /** Present when some results were left out: their sum. */
  resultsDropped?: number;
  degraded?: string;
  replayed?: boolean;
}

export declare function publish<R = unknown, P = unknown>(options: PublishOptions<P>): Promise<PublishAnswer<R>>;
export declare function publish<R = unknown, P = unknown>(options: PublishManyOptions<P>): Promise<PublishManyAnswer<R>>;

export interface DevicesOptions {
  url: string;
  token: string;
  userId: string;
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

export interface DevicesAnswer {
  userId: string;
  /** Every open socket of the user, ordered by `since` (ISO 8601 UTC), then device. */
  devices: { device: string | null; since: string }[];
  /** True when the server could list only its own node's sockets (`hopeflow-degraded: local-only`). */
  degraded?: boolean;
}

/** GET /users/<userId>/devices (section 13): who is online. Throws the errors of publish(). */
export declare function devices(options: DevicesOptions): Promise<DevicesAnswer>;

/** A device name for this tab, kept across reloads in sessionStorage (one per process without it). */
export declare function tabDeviceId(prefix?: string): string;
/** Whether a string is a valid device name (1-64 printable ASCII characters). */
export declare function isDevice(device: unknown): device is string;

export declare class HopeflowError extends Error {
  constructor(message: string, props?: Record<string, unknown>);
  cause?: unknown;
}
export declare class PublishError extends HopeflowError {
  status: number;
  body: unknown;
}
export declare class UnauthorizedError extends PublishError {}
export declare class ForbiddenError extends PublishError {}
export declare class BadRequestError extends PublishError {}
export declare class ServerError extends PublishError {}
export declare class ProtocolError extends HopeflowError {
  code: number;
  reason: string;
}
/** A webhook whose signature, timestamp or body does not verify. */
export declare class WebhookVerificationError extends HopeflowError {}

/** `unacked` (section 14): no target acked before the publish was answered. Sent once, right after the answer. */
export interface UnackedEvent<P = unknown, R = unknown> {
  /** Unique per event (a UUID); the same on every retry of it: deduplicate by it. */
  id: string;
  event: 'unacked';
  /** The envelope as a socket that never sent `recover` received it. */
  envelope: Envelope<P>;
  /** The answer's count, and its receipts (whether or not the publish asked for them). */
  clientCount: number;
  devices: DeviceReceipt<R>[];
}

/** `late_ack` (section 14): a target acked after the answer, within LATE_ACK_MS of the publish's arrival. */
export interface LateAckEvent<R = unknown> {
  id: string;
  event: 'late_ack';
  envelopeId: string;
  userId: string;
  /** null for a socket that named no device. */
  device: string | null;
  /** The ack's result (null when it had none). */
  result: R | null;
  /** ms from the publish's arrival to the ack. */
  ackMs: number;
}

export type WebhookEvent<P = unknown, R = unknown> = UnackedEvent<P, R> | LateAckEvent<R>;

/** A request's headers: Node's `req.headers` (IncomingHttpHeaders), a plain object, or fetch's `Headers`. */
export type WebhookHeaders =
  | { get(name: string): string | null | undefined }
  | Record<string, string | string[] | undefined>;

export interface VerifyWebhookOptions {
  /** How far `t` may be from now, in seconds (default 300). */
  toleranceSeconds?: number;
  /** The current time in ms since the epoch (default Date.now()), for tests. */
  now?: number;
}

/**
 * Checks the `hopeflow-signature` header of a webhook POST against the raw
 * body (as received: a Buffer, not a parsed object) and resolves with the
 * event. Rejects with WebhookVerificationError when it does not verify.
 */
export declare function verifyWebhook<P = unknown, R = unknown>(
  secret: string | Uint8Array,
  headers: WebhookHeaders,
  rawBody: string | Uint8Array | ArrayBuffer,
  options?: VerifyWebhookOptions,
): Promise<WebhookEvent<P, R>>;

export declare function normalizeFilter(filter: Filter): Filter;
export declare function matches(filter: Filter, envelope: Envelope): boolean;
export declare function tokenExp(token: string): number | null;
export declare function backoffDelay(
  attempt: number,
  o: { initialMs: number; maxMs: number; floorMs?: number; random?: () => number },
): number;
export declare function closePolicy(code: number): 'retry' | 'fresh-token' | 'slow' | 'protocol-error' | 'replaced';

export declare const DEFAULTS: Readonly<Required<Omit<ConnectOptions, 'url' | 'token' | 'WebSocket' | 'device' | 'clock' | 'random'>>>;
export declare const STATES: readonly State[];
