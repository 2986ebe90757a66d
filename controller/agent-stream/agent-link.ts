import { performance } from 'node:perf_hooks';
import { WebSocket, type RawData } from 'ws';
import {
  parseAgentMessage,
  type BreachMessage, type FlushMessage, type HelloMessage, type IntervalMessage, type SessionEndMessage, type SubscribeMessage,
} from '../../shared/messages/agent-messages.js';

export type AgentLinkEventKind = 'connected' | 'disconnected' | 'dropped' | 'bad-message' | 'hello' | 'restarted';

export interface AgentLinkEvent {
  kind: AgentLinkEventKind;
  detail?: string;
}

export interface AgentLinkOptions {
  /** ws://HOST:PORT/v1/stream */
  url: string;
  /** bearer token; null when the agent runs --insecure-no-auth */
  token: string | null;
  /** the controller session whose intervals this link delivers */
  session: number;
  /** each interval of the session, exactly once, in id order */
  onInterval: (message: IntervalMessage) => void;
  onEvent?: (event: AgentLinkEvent) => void;
  /** the agent ended the session (idle, or exiting) */
  onSessionEnd?: (message: SessionEndMessage) => void;
  /** each hello: the agent's clocks and clock-sync declaration */
  onHello?: (message: HelloMessage) => void;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export interface AgentLinkStats {
  /** connections that opened */
  connects: number;
  /** opened connections that closed */
  disconnects: number;
  intervals: number;
  duplicatesIgnored: number;
  badMessages: number;
  /** intervals the agent reported it could not send us (we read too slowly) */
  droppedByAgent: number;
  /** exceptions thrown by onInterval / onEvent / onSessionEnd, caught here */
  callbackErrors: number;
}

/** agent messages carry up to three histograms of at most 4 MB each (decodeHistogram's limit) */
const MAX_AGENT_MESSAGE_BYTES = 16 << 20;
const HANDSHAKE_TIMEOUT_MS = 10_000;
/** the agent pings every 15 s: this much silence means the path is dead */
const SILENCE_MS = 45_000;
const CLOSE_GRACE_MS = 1_000;
const UNAUTHORIZED = '401 unauthorized: check --agent-token-file';

interface FlushWaiter {
  /** position of the flush among those sent on this connection; the agent answers in order */
  seq: number;
  done: (ok: boolean) => void;
}

/**
 * The controller's subscription to one agent's interval stream. It reconnects with back-off
 * until closed and resumes from the last interval it delivered, so a glitch shorter than the
 * agent's replay window loses nothing; ids it already delivered are never delivered again.
 */
export class AgentLink {
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;
  private ws: WebSocket | null = null;
  private started = false;
  private closed = false;
  private subscribed = false;
  private attempt = 0;
  private lastSeenId = 0;
  private instance: string | undefined;
  /** the current agent instance ended our session (session-end): it owes us no more intervals */
  private sessionEnded = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private silenceTimer: NodeJS.Timeout | null = null;
  private flushWaiters: FlushWaiter[] = [];
  /** waiting for the first connection attempt to end (subscribed, or failed) */
  private firstAttemptWaiters: (() => void)[] = [];
  private firstAttemptEnded = false;
  private flushesSent = 0;
  private flushesAnswered = 0;
  private readonly counts: AgentLinkStats = {
    connects: 0, disconnects: 0, intervals: 0, duplicatesIgnored: 0, badMessages: 0, droppedByAgent: 0, callbackErrors: 0,
  };

  constructor(private readonly options: AgentLinkOptions) {
    const { protocol } = new URL(options.url);
    if (protocol !== 'ws:' && protocol !== 'wss:') throw new TypeError(`agent URL must be ws:// or wss://, not ${options.url}`);
    this.minBackoffMs = options.minBackoffMs ?? 100;
    this.maxBackoffMs = Math.max(options.maxBackoffMs ?? 5_000, this.minBackoffMs);
  }

  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.connect();
  }

  stats(): AgentLinkStats {
    return { ...this.counts };
  }

  /**
   * Asks the agent to close and send the session's open interval; true once everything up to it
   * arrived. A short run may end while the first connection is still being made: that attempt
   * is waited for (within the timeout); a link that has failed before is not waited on.
   */
  async flush(timeoutMs: number): Promise<boolean> {
    const startedMs = performance.now();
    await this.firstAttempt(timeoutMs);
    const remainingMs = Math.max(0, timeoutMs - (performance.now() - startedMs));
    const ws = this.ws;
    if (ws === null || !this.subscribed || ws.readyState !== WebSocket.OPEN) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter: FlushWaiter = {
        seq: ++this.flushesSent,
        done: (ok) => {
          clearTimeout(timer);
          this.flushWaiters = this.flushWaiters.filter((w) => w !== waiter);
          resolve(ok);
        },
      };
      const timer = setTimeout(() => waiter.done(false), remainingMs);
      this.flushWaiters.push(waiter);
      const flush: FlushMessage = { type: 'flush', v: 1, session: this.options.session };
      ws.send(JSON.stringify(flush));
    });
  }

  private firstAttempt(timeoutMs: number): Promise<void> {
    if (this.firstAttemptEnded || !this.started || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.firstAttemptWaiters.push(() => { clearTimeout(timer); resolve(); });
    });
  }

  private endFirstAttempt(): void {
    if (this.firstAttemptEnded) return;
    this.firstAttemptEnded = true;
    for (const wake of this.firstAttemptWaiters) wake();
    this.firstAttemptWaiters = [];
  }

  /** Tells the agent an RTT breached the threshold; false when not connected (nothing queued). */
  sendBreach(seq: bigint, rttNs: number): boolean {
    const ws = this.ws;
    if (ws === null || ws.readyState !== WebSocket.OPEN) return false;
    const breach: BreachMessage = { type: 'breach', v: 1, session: this.options.session, seq: Number(seq), rtt_ns: Math.round(rttNs) };
    ws.send(JSON.stringify(breach));
    return true;
  }

  /** Stops reconnecting and closes the connection; resolves when the socket is closed. */
  close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const ws = this.ws;
    if (ws === null) return Promise.resolve();
    return new Promise((resolve) => {
      ws.once('close', () => resolve());
      if (ws.readyState === WebSocket.OPEN) {
        ws.close(1000, 'controller done');
        setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
      } else {
        ws.terminate();
      }
    });
  }

  private connect(): void {
    const { token } = this.options;
    const ws = new WebSocket(this.options.url, {
      headers: token === null ? {} : { Authorization: `Bearer ${token}` },
      maxPayload: MAX_AGENT_MESSAGE_BYTES,
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      perMessageDeflate: false,
    });
    this.ws = ws;
    let openedAtMs: number | null = null;
    let status: number | null = null;
    let failure = '';
    ws.on('unexpected-response', (_req, res) => {
      status = res.statusCode ?? 0;
      ws.terminate();
    });
    ws.on('open', () => {
      openedAtMs = performance.now();
      this.counts.connects++;
      this.armSilence(ws);
      this.emit({ kind: 'connected', detail: this.options.url });
    });
    ws.on('ping', () => this.armSilence(ws));
    ws.on('message', (data: RawData, isBinary: boolean) => {
      this.armSilence(ws);
      this.onMessage(ws, data, isBinary);
    });
    ws.on('error', (error: Error) => { failure = error.message; });
    ws.on('close', (code: number, reason: Buffer) => {
      this.ws = null;
      this.subscribed = false;
      if (this.silenceTimer !== null) clearTimeout(this.silenceTimer);
      this.failFlushes();
      if (openedAtMs !== null) this.counts.disconnects++;
      let detail = failure || `closed ${code}${reason.length > 0 ? ` ${reason.toString()}` : ''}`;
      if (status === 401) detail = UNAUTHORIZED;
      else if (status !== null) detail = `HTTP ${status} from ${this.options.url}`;
      this.emit({ kind: 'disconnected', detail });
      this.endFirstAttempt();
      if (this.closed) return;
      // A connection that lasted is a fresh start; one that keeps failing backs off further.
      if (openedAtMs !== null && performance.now() - openedAtMs >= this.maxBackoffMs) this.attempt = 0;
      this.scheduleReconnect(status === 401);
    });
  }

  private scheduleReconnect(atMax: boolean): void {
    const base = atMax ? this.maxBackoffMs : Math.min(this.maxBackoffMs, this.minBackoffMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    // Jitter keeps many controllers from reconnecting to a restarted agent in lockstep.
    const delay = Math.max(this.minBackoffMs, base * (0.75 + Math.random() * 0.25));
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (!this.closed) this.connect();
    }, delay);
  }

  private onMessage(ws: WebSocket, data: RawData, isBinary: boolean): void {
    const parsed = isBinary ? { ok: false as const, reason: 'bad-json', detail: 'binary frame' } : parseAgentMessage(rawText(data));
    if (!parsed.ok) return this.bad(`${parsed.reason}: ${parsed.detail}`);
    const m = parsed.message;
    const { session } = this.options;
    switch (m.type) {
      case 'hello':
        return this.onHello(ws, m);
      case 'interval':
        if (m.session !== session) return this.bad(`interval ${m.id} of session ${m.session}, subscribed to ${session}`);
        if (!this.isNew(m.id)) return;
        this.counts.intervals++;
        this.sessionEnded = false; // an interval after a session-end: the session started again
        return this.callback(() => this.options.onInterval(m));
      case 'session-end':
        if (m.session !== session || !this.isNew(m.id)) return;
        this.sessionEnded = true;
        return this.callback(() => this.options.onSessionEnd?.(m));
      case 'flushed': {
        if (m.session !== session) return this.bad(`flushed for session ${m.session}`);
        const seq = ++this.flushesAnswered;
        return this.flushWaiters.find((w) => w.seq === seq)?.done(true);
      }
      case 'dropped':
        this.counts.droppedByAgent += m.count;
        return this.emit({ kind: 'dropped', detail: `the agent dropped ${m.count} intervals for this slow reader (${m.total} in all)` });
      case 'error':
        return this.emit({ kind: 'bad-message', detail: `the agent refused our message: ${m.code}: ${m.message}` });
    }
  }

  private onHello(ws: WebSocket, hello: HelloMessage): void {
    // A restarted agent numbers from 1 again: what we saw of the old one says nothing. Unless
    // the old one ended our session, its open interval (and any it had not sent) died with it.
    if (this.instance !== undefined && hello.instance !== this.instance) {
      this.lastSeenId = 0;
      if (!this.sessionEnded) {
        this.emit({ kind: 'restarted', detail: `the agent restarted (instance ${this.instance} → ${hello.instance}) without ending the session: intervals it had not sent are lost` });
      }
      this.sessionEnded = false;
    } else if (this.lastSeenId > 0 && (hello.first_id || hello.last_id + 1) > this.lastSeenId + 1) {
      this.emit({ kind: 'dropped', detail: `the agent replays from id ${hello.first_id} only; intervals after ${this.lastSeenId} may be lost` });
    }
    this.instance = hello.instance;
    this.emit({ kind: 'hello', detail: `agent ${hello.agent_version} instance ${hello.instance}` });
    const onHello = this.options.onHello;
    if (onHello) this.callback(() => onHello(hello));
    // Always from the last delivered id: for a fresh session that is a replay of nothing.
    const subscribe: SubscribeMessage = { type: 'subscribe', v: 1, session: this.options.session, after_id: this.lastSeenId };
    ws.send(JSON.stringify(subscribe));
    this.subscribed = true;
    this.endFirstAttempt();
  }

  /** Ids increase in the agent's stream, so anything at or below the last delivered one was delivered. */
  private isNew(id: number): boolean {
    if (id <= this.lastSeenId) {
      this.counts.duplicatesIgnored++;
      return false;
    }
    this.lastSeenId = id;
    return true;
  }

  private bad(detail: string): void {
    this.counts.badMessages++;
    this.emit({ kind: 'bad-message', detail });
  }

  private emit(event: AgentLinkEvent): void {
    const { onEvent } = this.options;
    if (onEvent !== undefined) this.callback(() => onEvent(event));
  }

  /** The caller's code runs inside a socket handler, where a throw would be uncaught. */
  private callback(run: () => void): void {
    try {
      run();
    } catch {
      this.counts.callbackErrors++;
    }
  }

  private armSilence(ws: WebSocket): void {
    if (this.silenceTimer !== null) clearTimeout(this.silenceTimer);
    this.silenceTimer = setTimeout(() => ws.terminate(), SILENCE_MS);
    this.silenceTimer.unref();
  }

  private failFlushes(): void {
    for (const waiter of [...this.flushWaiters]) waiter.done(false);
    this.flushesSent = 0;
    this.flushesAnswered = 0;
  }
}

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
