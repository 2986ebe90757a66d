import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import {
  MAX_CLIENT_MESSAGE_BYTES, STREAM_PATH, parseClientMessage, type BreachMessage,
  type AgentMessage, type ClientRejectReason, type HelloMessage, type IntervalMessage, type SessionEndMessage,
} from '../shared/messages/agent-messages.js';

export interface StatsStreamOptions {
  host: string;
  port: number;
  /** bearer token every subscriber must present; null = --insecure-no-auth */
  token: string | null;
  replayMs: number;
  intervalMs: number;
  /** everything hello says besides the replay range (interval_ms and replay_ms are taken from above) */
  hello: Omit<HelloMessage, 'type' | 'v' | 'first_id' | 'last_id'>;
  /** per subscriber: above this many unsent bytes nothing more is queued for it (default 1 MiB) */
  maxBufferedBytes?: number;
  /** the replay ring never holds more than this (default 32 MiB) */
  maxReplayBytes?: number;
  /** monotonic ms, for the replay window; injectable for tests */
  nowMs?: () => number;
}

/** Why a client message or frame was refused: the message reasons plus socket-level ones. */
export type StreamErrorReason = ClientRejectReason | 'protocol-error' | 'internal-error';

export interface StatsStreamStats {
  /** open WebSocket connections */
  clients: number;
  /** connections that sent a valid subscribe */
  subscribers: number;
  published: number;
  /** intervals a subscriber missed because it read too slowly (all subscribers, ever) */
  dropped: number;
  /** messages sent from the replay ring (reconnect replay and catch-up after a slow period) */
  replayed: number;
  errors: Partial<Record<StreamErrorReason, number>>;
  authFailures: number;
  floodCloses: number;
  /** the most bytes ever queued for one subscriber, right after a send: the memory bound in practice */
  maxClientBufferedBytes: number;
}

const DEFAULT_MAX_BUFFERED_BYTES = 1 << 20;
const DEFAULT_MAX_REPLAY_BYTES = 32 << 20;
const HEARTBEAT_MS = 15_000;
/** a client that sends more bad messages than this is not a confused controller */
const MAX_BAD_MESSAGES = 20;
const FLOOD_WINDOW_MS = 1_000;
const FLOOD_MAX_MESSAGES = 200;
/** flushes waiting for a lagging subscriber to catch up; more is abuse (close 1008) */
const MAX_PENDING_FLUSHES = 16;
const CLOSE_GRACE_MS = 1_000;
const CLOSE_POLICY = 1008;

const HINTS: Record<ClientRejectReason, string> = {
  'bad-json': 'send JSON text such as {"type":"subscribe","v":1,"session":1,"after_id":0}',
  'not-object': 'a message is a JSON object with "type" and "v"',
  'bad-version': 'this agent speaks stream version 1',
  'unknown-type': 'this agent understands "subscribe" and "flush"',
  'bad-field': 'see the message reference in the README',
  'too-large': `messages are at most ${MAX_CLIENT_MESSAGE_BYTES} bytes`,
};

/** One published message, serialized once and shared by every subscriber. */
interface RingEntry {
  id: number;
  session: number;
  atMs: number;
  data: Buffer;
}

/** Published messages in id order, bounded by age and total bytes: the replay memory. */
class ReplayRing {
  private entries: (RingEntry | undefined)[] = [];
  private head = 0;
  bytes = 0;

  get firstId(): number { return this.entries[this.head]?.id ?? 0; }
  get lastId(): number { return this.entries.length > this.head ? this.entries[this.entries.length - 1]?.id ?? 0 : 0; }

  push(entry: RingEntry): void {
    this.entries.push(entry);
    this.bytes += entry.data.length;
  }

  /** Removes the oldest entries while they are older than cutoffMs or the ring is over maxBytes. */
  evict(cutoffMs: number, maxBytes: number, onEvict: (entry: RingEntry) => void): void {
    for (let e = this.entries[this.head]; e !== undefined && (e.atMs < cutoffMs || this.bytes > maxBytes); e = this.entries[this.head]) {
      this.entries[this.head++] = undefined;
      this.bytes -= e.data.length;
      onEvict(e);
    }
    // Compact now and then so the array does not grow with everything ever published.
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  /** Index of the first entry with an id above afterId (ids increase, so a binary search). */
  indexAfter(afterId: number): number {
    let lo = this.head;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.entries[mid]?.id ?? 0) > afterId) hi = mid; else lo = mid + 1;
    }
    return lo;
  }

  at(index: number): RingEntry | undefined { return this.entries[index]; }
}

/** The agent's view of one connection. */
interface Client {
  ws: WebSocket;
  alive: boolean;
  subscribed: boolean;
  /** session filter; undefined = every session */
  session: number | undefined;
  /** every message up to this id was sent to it or skipped by its filter */
  cursorId: number;
  /** behind the newest message: served from the ring as its socket drains, not live */
  catchingUp: boolean;
  dropsSinceNotice: number;
  dropsTotal: number;
  /** `flushed` answers held back until the client has caught up, in request order */
  pendingFlushes: { session: number; lastId: number }[];
  /** flushes whose handler has not finished yet (it waits for the reflector's last batch) */
  flushesRunning: number;
  badMessages: number;
  /** arrival times of the last FLOOD_MAX_MESSAGES messages, a ring */
  recentMs: Float64Array;
  recentNext: number;
  recentCount: number;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

/** Answers an upgrade that will not become a WebSocket: a status line, then the socket is gone. */
function refuse(socket: Duplex, status: number, text: string, extraHeaders = ''): void {
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\n${extraHeaders}Content-Length: 0\r\n\r\n`);
}

/**
 * The agent's WebSocket server (`--ws`, path /v1/stream). Intervals published by the recorder
 * go to every matching subscriber and into a replay ring. Memory is bounded per subscriber by
 * maxBufferedBytes and for all of them by the ring: a subscriber that falls behind is served
 * from the ring as its socket drains, and only what the ring evicted before it got there is
 * dropped, counted and reported to it.
 */
export class StatsStream {
  private readonly server = http.createServer();
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_MESSAGE_BYTES, perMessageDeflate: false });
  private readonly clients = new Set<Client>();
  private readonly ring = new ReplayRing();
  private readonly tokenDigest: Buffer | null;
  private readonly maxBufferedBytes: number;
  private readonly maxReplayBytes: number;
  private readonly nowMs: () => number;
  private readonly heartbeat: NodeJS.Timeout;
  private breachHandler: ((breach: BreachMessage) => void) | null = null;
  private flushHandler: ((session: number) => void | Promise<void>) | null = null;
  private lastPublishedId = 0;
  private closing: Promise<void> | null = null;
  private readonly counts: StatsStreamStats = {
    clients: 0, subscribers: 0, published: 0, dropped: 0, replayed: 0, errors: {},
    authFailures: 0, floodCloses: 0, maxClientBufferedBytes: 0,
  };

  private constructor(private readonly options: StatsStreamOptions) {
    if (options.token === '') throw new RangeError('the stream token must not be empty');
    this.tokenDigest = options.token === null ? null : digest(options.token);
    this.maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    this.maxReplayBytes = options.maxReplayBytes ?? DEFAULT_MAX_REPLAY_BYTES;
    this.nowMs = options.nowMs ?? (() => performance.now());
    this.server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      try {
        this.onUpgrade(req, socket, head);
      } catch {
        this.countError('internal-error');
        socket.destroy();
      }
    });
    this.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      // Plain HTTP gets nothing but a pointer to the protocol.
      const isStream = (req.url ?? '').split('?')[0] === STREAM_PATH;
      res.writeHead(isStream ? 426 : 404, isStream ? { Upgrade: 'websocket', Connection: 'Upgrade' } : {});
      res.end();
    });
    this.server.on('error', () => this.countError('internal-error'));
    this.wss.on('error', () => this.countError('internal-error'));
    this.heartbeat = setInterval(() => this.beat(), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  static async listen(options: StatsStreamOptions): Promise<StatsStream> {
    const stream = new StatsStream(options);
    const { server } = stream;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port, options.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      clearInterval(stream.heartbeat);
      throw error;
    }
    return stream;
  }

  get port(): number {
    const bound = this.server.address();
    return typeof bound === 'object' && bound !== null ? bound.port : 0;
  }

  get address(): string {
    const bound = this.server.address();
    return typeof bound === 'object' && bound !== null ? bound.address : '';
  }

  /** The recorder closes the session's current interval and publishes it before the handler returns or resolves. */
  onFlush(handler: (session: number) => void | Promise<void>): void {
    this.flushHandler = handler;
  }

  /** A controller saw an RTT above its threshold (trace freeze). */
  onBreach(handler: (breach: BreachMessage) => void): void {
    this.breachHandler = handler;
  }

  stats(): StatsStreamStats {
    let subscribers = 0;
    for (const c of this.clients) if (c.subscribed) subscribers++;
    return { ...this.counts, clients: this.clients.size, subscribers, errors: { ...this.counts.errors } };
  }

  /** Sends a message the recorder numbered (ids must increase) and keeps it for replay. */
  publish(message: IntervalMessage | SessionEndMessage): void {
    if (!Number.isSafeInteger(message.id) || message.id <= this.lastPublishedId) {
      throw new RangeError(`published id ${message.id} does not follow ${this.lastPublishedId}`);
    }
    const entry: RingEntry = { id: message.id, session: message.session, atMs: this.nowMs(), data: Buffer.from(JSON.stringify(message)) };
    this.lastPublishedId = message.id;
    this.counts.published++;
    this.ring.push(entry);
    for (const c of this.clients) {
      if (!c.subscribed) continue;
      if (c.catchingUp) {
        this.pump(c);
      } else if (!matches(c, entry.session)) {
        c.cursorId = entry.id;
      } else if (c.ws.bufferedAmount > this.maxBufferedBytes) {
        // Queue nothing more; the ring holds this message until the socket drains.
        c.catchingUp = true;
      } else {
        this.sendData(c, entry.data);
        c.cursorId = entry.id;
      }
    }
    // After delivery, so that a subscriber that just fell behind counts this one if it goes.
    this.evict();
  }

  async close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    clearInterval(this.heartbeat);
    const serverClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const clientsClosed = [...this.clients].map((c) => new Promise<void>((resolve) => {
      if (c.ws.readyState === WebSocket.CLOSED) resolve(); else c.ws.once('close', () => resolve());
      c.ws.close(1001, 'agent shutting down');
    }));
    // A subscriber that does not read never answers the close frame.
    const grace = setTimeout(() => { for (const c of this.clients) c.ws.terminate(); }, CLOSE_GRACE_MS);
    await Promise.all(clientsClosed);
    clearTimeout(grace);
    this.wss.close();
    this.server.closeAllConnections();
    await serverClosed;
  }

  private onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    // A reset during the handshake must not become an uncaught 'error'.
    socket.on('error', () => {});
    if ((req.url ?? '').split('?')[0] !== STREAM_PATH) return refuse(socket, 404, 'Not Found');
    if (this.closing !== null) return refuse(socket, 503, 'Service Unavailable');
    if (!this.authorized(req.headers.authorization)) {
      this.counts.authFailures++;
      return refuse(socket, 401, 'Unauthorized', 'WWW-Authenticate: Bearer\r\n');
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws));
  }

  private authorized(header: string | undefined): boolean {
    if (this.tokenDigest === null) return true;
    const match = /^Bearer +(\S+) *$/i.exec(header ?? '');
    // Digests have one length, so the comparison takes the same time whatever was sent.
    return match?.[1] !== undefined && timingSafeEqual(digest(match[1]), this.tokenDigest);
  }

  private onConnection(ws: WebSocket): void {
    const c: Client = {
      ws, alive: true, subscribed: false, session: undefined, cursorId: 0, catchingUp: false,
      dropsSinceNotice: 0, dropsTotal: 0, pendingFlushes: [], flushesRunning: 0, badMessages: 0,
      recentMs: new Float64Array(FLOOD_MAX_MESSAGES), recentNext: 0, recentCount: 0,
    };
    this.clients.add(c);
    ws.on('pong', () => { c.alive = true; });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      try {
        this.onMessage(c, data, isBinary);
      } catch {
        this.countError('internal-error');
      }
    });
    ws.on('error', (error: Error & { code?: string }) => {
      // ws has already sent the close frame (1009 for a frame over maxPayload, 1002/1007 otherwise).
      this.countError(error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'too-large' : 'protocol-error');
    });
    ws.on('close', () => this.clients.delete(c));
    this.evict();
    const { intervalMs, replayMs } = this.options;
    this.sendControl(c, { type: 'hello', v: 1, ...this.options.hello, interval_ms: intervalMs, replay_ms: replayMs,
      first_id: this.ring.firstId, last_id: this.ring.lastId });
  }

  private onMessage(c: Client, data: RawData, isBinary: boolean): void {
    if (c.ws.readyState !== WebSocket.OPEN) return;
    c.alive = true;
    if (this.flooding(c)) return this.closeForPolicy(c, `more than ${FLOOD_MAX_MESSAGES} messages in 1 s`);
    const parsed = isBinary
      ? { ok: false as const, reason: 'bad-json' as const, detail: 'binary frames are not accepted' }
      : parseClientMessage(rawText(data));
    if (!parsed.ok) {
      this.countError(parsed.reason);
      if (++c.badMessages > MAX_BAD_MESSAGES) return this.closeForPolicy(c, `more than ${MAX_BAD_MESSAGES} bad messages`);
      if (c.ws.bufferedAmount <= this.maxBufferedBytes) {
        this.sendControl(c, { type: 'error', v: 1, code: parsed.reason, message: `${parsed.detail}; ${HINTS[parsed.reason]}` });
      }
      return;
    }
    const m = parsed.message;
    if (m.type === 'subscribe') {
      c.subscribed = true;
      c.session = m.session;
      if (m.after_id === undefined) {
        c.cursorId = this.lastPublishedId;
        c.catchingUp = false;
        this.answerFlushes(c);
      } else {
        c.cursorId = m.after_id;
        c.catchingUp = true;
        this.pump(c);
      }
      return;
    }
    if (m.type === 'breach') {
      try {
        this.breachHandler?.(m);
      } catch {
        this.countError('internal-error');
      }
      return;
    }
    // flush: the recorder publishes the session's open interval once the reflector has handed
    // over every probe it answered before the request; `flushed` follows that interval.
    if (c.pendingFlushes.length + c.flushesRunning >= MAX_PENDING_FLUSHES) return this.closeForPolicy(c, 'too many flushes pending');
    c.flushesRunning++;
    void this.runFlushHandler(m.session).then(() => {
      c.flushesRunning--;
      if (c.ws.readyState !== WebSocket.OPEN) return;
      c.pendingFlushes.push({ session: m.session, lastId: this.lastPublishedId });
      this.answerFlushes(c);
    });
  }

  private async runFlushHandler(session: number): Promise<void> {
    try {
      await this.flushHandler?.(session);
    } catch {
      this.countError('internal-error');
    }
  }

  /** Sends ring messages the client has not had yet while its socket has room; then it is live. */
  private pump(c: Client): void {
    if (!c.catchingUp || c.ws.readyState !== WebSocket.OPEN) return;
    this.noticeDrops(c);
    for (let i = this.ring.indexAfter(c.cursorId); ; i++) {
      const entry = this.ring.at(i);
      if (entry === undefined) {
        c.catchingUp = false;
        c.cursorId = this.lastPublishedId;
        this.answerFlushes(c);
        return;
      }
      if (matches(c, entry.session)) {
        // Resumed by the write callback of what is queued (sendData).
        if (c.ws.bufferedAmount > this.maxBufferedBytes) return;
        this.sendData(c, entry.data);
        this.counts.replayed++;
      }
      c.cursorId = entry.id;
    }
  }

  private evict(): void {
    this.ring.evict(this.nowMs() - this.options.replayMs, this.maxReplayBytes, (entry) => {
      for (const c of this.clients) {
        if (c.subscribed && c.catchingUp && entry.id > c.cursorId && matches(c, entry.session)) {
          c.dropsSinceNotice++;
          c.dropsTotal++;
          this.counts.dropped++;
        }
      }
    });
  }

  private onDrained(c: Client): void {
    if (c.catchingUp) this.pump(c); else this.answerFlushes(c);
    this.noticeDrops(c);
  }

  /** Tells the client how many intervals it missed, once its queue is down to half. */
  private noticeDrops(c: Client): void {
    if (c.dropsSinceNotice === 0 || c.ws.bufferedAmount > this.maxBufferedBytes / 2) return;
    this.sendControl(c, { type: 'dropped', v: 1, count: c.dropsSinceNotice, total: c.dropsTotal });
    c.dropsSinceNotice = 0;
  }

  /** `flushed` promises everything up to last_id was sent, so it waits until the client caught up. */
  private answerFlushes(c: Client): void {
    if (c.catchingUp || c.ws.bufferedAmount > this.maxBufferedBytes) return;
    for (const f of c.pendingFlushes.splice(0)) this.sendControl(c, { type: 'flushed', v: 1, session: f.session, last_id: f.lastId });
  }

  private sendData(c: Client, data: Buffer): void {
    c.ws.send(data, { binary: false }, (error) => {
      if (error === undefined || error === null) this.onDrained(c);
    });
    if (c.ws.bufferedAmount > this.counts.maxClientBufferedBytes) this.counts.maxClientBufferedBytes = c.ws.bufferedAmount;
  }

  private sendControl(c: Client, message: AgentMessage): void {
    if (c.ws.readyState === WebSocket.OPEN) this.sendData(c, Buffer.from(JSON.stringify(message)));
  }

  /** True when this message is the (FLOOD_MAX_MESSAGES + 1)th within FLOOD_WINDOW_MS. */
  private flooding(c: Client): boolean {
    // Real time even when the replay window runs on a test clock.
    const now = performance.now();
    const oldest = c.recentMs[c.recentNext] ?? 0;
    const flooding = c.recentCount === FLOOD_MAX_MESSAGES && now - oldest < FLOOD_WINDOW_MS;
    c.recentMs[c.recentNext] = now;
    c.recentNext = (c.recentNext + 1) % FLOOD_MAX_MESSAGES;
    c.recentCount = Math.min(c.recentCount + 1, FLOOD_MAX_MESSAGES);
    return flooding;
  }

  private closeForPolicy(c: Client, reason: string): void {
    this.counts.floodCloses++;
    c.ws.close(CLOSE_POLICY, reason);
  }

  private countError(reason: StreamErrorReason): void {
    this.counts.errors[reason] = (this.counts.errors[reason] ?? 0) + 1;
  }

  /** Ping every client; one that did not answer the previous ping is gone. */
  private beat(): void {
    for (const c of this.clients) {
      if (!c.alive) {
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      try {
        c.ws.ping();
      } catch {
        c.ws.terminate();
      }
    }
  }
}

function matches(c: Client, session: number): boolean {
  return c.session === undefined || c.session === session;
}
