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

/** What a handler returns (or resolves to) is the ack's `result`; undefined means null. */
export type Handler<P = unknown> = (envelope: Envelope<P>) => unknown | Promise<unknown>;

export type State = 'connecting' | 'open' | 'reconnecting' | 'closed';

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

export interface Events {
  state: State;
  open: undefined;
  close: CloseInfo;
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
  readonly position: { epoch: string; offset: number } | null;
  readonly filters: Filter[];
  on<E extends keyof Events>(event: E, listener: (arg: Events[E]) => void): () => void;
  subscribe<P = unknown>(filter: Filter, handler: Handler<P>): () => void;
  close(): void;
}

export declare function connect(options: ConnectOptions): RealtimeClient;

export interface PublishOptions<P = unknown> {
  url: string;
  token: string;
  userId: string;
  type?: string;
  payload?: P;
  /** How long the server waits for acks (0 = do not wait), capped by its configuration. */
  ackTimeoutMs?: number;
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

export interface PublishAnswer<R = unknown> {
  clientCount: number;
  results: R[];
  /** Present when the server answered from a degraded state (`hopeflow-degraded`). */
  degraded?: string;
}

export declare function publish<R = unknown, P = unknown>(options: PublishOptions<P>): Promise<PublishAnswer<R>>;

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

export declare function normalizeFilter(filter: Filter): Filter;
export declare function matches(filter: Filter, envelope: Envelope): boolean;
export declare function tokenExp(token: string): number | null;
export declare function backoffDelay(
  attempt: number,
  o: { initialMs: number; maxMs: number; floorMs?: number; random?: () => number },
): number;
export declare function closePolicy(code: number): 'retry' | 'fresh-token' | 'slow' | 'protocol-error';

export declare const DEFAULTS: Readonly<Required<Omit<ConnectOptions, 'url' | 'token' | 'WebSocket' | 'clock' | 'random'>>>;
export declare const STATES: readonly State[];
