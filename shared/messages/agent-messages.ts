/**
 * The agent's WebSocket stream (path /v1/stream): versioned JSON messages, each with a `type`.
 * Validators turn untrusted text into typed messages or a reason code; they never throw.
 */
import { REJECT_REASONS, type RejectCounts, type RejectReason } from '../wire/reject-reason.js';
import { parseAgentSettings, type AgentSettings } from './agent-settings.js';
import type { StampSource } from '../transport/probe-transport.js';

export const STREAM_PATH = '/v1/stream';
export const STREAM_VERSION = 1;
/** largest client message the agent reads; larger frames close with 1009 */
export const MAX_CLIENT_MESSAGE_BYTES = 4096;

export const AGENT_TAGS = ['ipdv', 'turnaround', 'owd', 'timer'] as const;
/**
 * ipdv: |inter-arrival − inter-send| per consecutive probe; turnaround: T3 − T2; owd: T2 − T1;
 * timer: the guest's timer wake-up latency (actual − due, --timer-latency), agent-wide, in
 * every session's interval
 */
export type AgentTag = (typeof AGENT_TAGS)[number];

export interface EncodedHistogram {
  count: number;
  max_ns: number;
  /** HdrHistogram compressed base64 (V2), values in ns */
  encoded: string;
  /** tag timer: wall-clock ms (agent CLOCK_REALTIME) of the wake-up that was the max */
  max_at_ms?: number;
}

/** Whether the agent measures its timer latency (--timer-latency), and how. */
export interface HelloTimer {
  running: boolean;
  interval_ns: number;
  /** SCHED_FIFO priority in force; null = SCHED_OTHER (not permitted) */
  priority: number | null;
  /** pinned CPU; null = not pinned */
  cpu: number | null;
}

export interface IntervalCounts {
  received: number;
  /** sequence numbers skipped on arrival: probes lost on the forward path (so far) */
  gaps: number;
  reordered: number;
  duplicates: number;
  rejected: RejectCounts;
}

/**
 * The agent's reflector socket as an interval closed, over the agent's whole run (the kernel
 * drops a datagram before anyone knows whose session it was): the native reflector only.
 */
export interface AgentSocketHealth {
  /** probes the kernel dropped unread, the socket's receive buffer full (SO_RXQ_OVFL): the guest's loss, not the path's */
  receive_buffer_drops: number;
  /** how long its thread paused in all while the agent's JavaScript held its memory bound of event batches */
  backlog_paused_ms: number;
}

export interface HelloMessage {
  type: 'hello';
  v: 1;
  agent_version: string;
  /** random per agent process: interval ids restart when it changes */
  instance: string;
  clocks: { t2: StampSource; t3: StampSource; turnaround: string };
  clock_sync: { mode: 'none' | 'ptp' | 'ntp'; error_ns: number | null };
  interval_ms: number;
  replay_ms: number;
  /** oldest and newest interval id the agent can still replay (0, 0 when none) */
  first_id: number;
  last_id: number;
  /** absent from agents older than --timer-latency */
  timer?: HelloTimer;
  /** the agent's host and options as applied (agents before 0.1.0 send none) */
  settings?: AgentSettings;
}

export interface IntervalMessage {
  type: 'interval';
  v: 1;
  id: number;
  session: number;
  /** the controller's address:port as the agent saw it */
  peer: string;
  start_ms: number;
  end_ms: number;
  histograms: Partial<Record<AgentTag, EncodedHistogram>>;
  counts: IntervalCounts;
  /** absent from the user-space reflector and from agents before it */
  socket?: AgentSocketHealth;
}

export interface SessionEndMessage {
  type: 'session-end';
  v: 1;
  id: number;
  session: number;
  reason: 'idle' | 'agent-exit';
}

/** Answer to `flush`: every interval of the session up to last_id has been sent. */
export interface FlushedMessage {
  type: 'flushed';
  v: 1;
  session: number;
  last_id: number;
}

/** Intervals the agent could not send to this subscriber (slow reader) since the last notice. */
export interface DroppedMessage {
  type: 'dropped';
  v: 1;
  count: number;
  total: number;
}

export interface ErrorMessage {
  type: 'error';
  v: 1;
  code: ClientRejectReason;
  message: string;
}

export type AgentMessage = HelloMessage | IntervalMessage | SessionEndMessage | FlushedMessage | DroppedMessage | ErrorMessage;

export interface SubscribeMessage {
  type: 'subscribe';
  v: 1;
  /** replay every interval with a larger id; omitted = only new ones */
  after_id?: number;
  /** only this session's intervals; omitted = all */
  session?: number;
}

export interface FlushMessage {
  type: 'flush';
  v: 1;
  session: number;
}

/** An RTT above the controller's --alert-max: the agent may freeze its kernel trace (--trace-on-breach). */
export interface BreachMessage {
  type: 'breach';
  v: 1;
  session: number;
  seq: number;
  rtt_ns: number;
}

export type ClientMessage = SubscribeMessage | FlushMessage | BreachMessage;

export const CLIENT_REJECT_REASONS = ['bad-json', 'not-object', 'bad-version', 'unknown-type', 'bad-field', 'too-large'] as const;
export type ClientRejectReason = (typeof CLIENT_REJECT_REASONS)[number];

export type Parsed<T, R extends string> = { ok: true; message: T } | { ok: false; reason: R; detail: string };

const STAMP_SOURCES = ['user', 'kernel', 'hardware', 'none'];

/**
 * Rebuilds a hello from its known fields only: the controller keeps it and writes it into
 * its JSON report, so nothing of unchecked shape or depth may come along.
 */
function parseHello(m: Record<string, unknown>, bad: (detail: string) => Parsed<AgentMessage, AgentRejectReason>): Parsed<AgentMessage, AgentRejectReason> {
  const clocks = m.clocks as Record<string, unknown> | null | undefined;
  const sync = m.clock_sync as Record<string, unknown> | null | undefined;
  if (typeof clocks !== 'object' || clocks === null || !STAMP_SOURCES.includes(String(clocks.t2))
    || !STAMP_SOURCES.includes(String(clocks.t3)) || typeof clocks.turnaround !== 'string') {
    return bad('hello needs clocks {t2, t3, turnaround}');
  }
  if (typeof sync !== 'object' || sync === null || !['none', 'ptp', 'ntp'].includes(String(sync.mode))
    || !(sync.error_ns === null || isId(sync.error_ns))) {
    return bad('hello needs clock_sync {mode, error_ns}');
  }
  if (!isId(m.interval_ms) || !isId(m.replay_ms) || typeof m.agent_version !== 'string') {
    return bad('hello needs agent_version, interval_ms, replay_ms');
  }
  const timer = m.timer === undefined ? undefined : parseHelloTimer(m.timer);
  if (timer === null) return bad('hello timer needs running, interval_ns, priority (1..99 or null), cpu (or null)');
  return {
    ok: true,
    message: {
      type: 'hello', v: 1, agent_version: m.agent_version.slice(0, 64), instance: String(m.instance).slice(0, 64),
      clocks: { t2: clocks.t2 as StampSource, t3: clocks.t3 as StampSource, turnaround: clocks.turnaround.slice(0, 200) },
      clock_sync: { mode: sync.mode as HelloMessage['clock_sync']['mode'], error_ns: (sync.error_ns as number | null) },
      interval_ms: m.interval_ms, replay_ms: m.replay_ms, first_id: m.first_id as number, last_id: m.last_id as number,
      ...(timer === undefined ? {} : { timer }),
      ...withSettings(parseAgentSettings(m.settings)),
    },
  };
}

/** The hello's timer, rebuilt from its checked fields; null when malformed. */
function parseHelloTimer(value: unknown): HelloTimer | null {
  const t = value as Record<string, unknown> | null;
  if (typeof t !== 'object' || t === null || typeof t.running !== 'boolean' || !isId(t.interval_ns)) return null;
  const priority = t.priority === null ? null : isId(t.priority) && t.priority >= 1 && t.priority <= 99 ? t.priority : undefined;
  const cpu = t.cpu === null ? null : isId(t.cpu) ? t.cpu : undefined;
  if (priority === undefined || cpu === undefined) return null;
  return { running: t.running, interval_ns: t.interval_ns, priority, cpu };
}

const withSettings = (settings: AgentSettings | undefined): { settings?: AgentSettings } => (settings ? { settings } : {});

/** A short, safe rendering of an untrusted `type` (JSON.stringify of a deep object overflows the stack). */
function describeType(type: unknown): string {
  return typeof type === 'string' ? JSON.stringify(type.slice(0, 40)) : typeof type;
}

function isUint32(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 0xffff_ffff;
}

function isId(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function isNonNegative(value: unknown): value is number {
  return Number.isFinite(value) && (value as number) >= 0;
}

function parseObject(text: string): Parsed<Record<string, unknown>, ClientRejectReason> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'bad-json', detail: 'not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, reason: 'not-object', detail: 'a message is a JSON object' };
  }
  const object = value as Record<string, unknown>;
  if (object.v !== STREAM_VERSION) return { ok: false, reason: 'bad-version', detail: `v must be ${STREAM_VERSION}` };
  return { ok: true, message: object };
}

/** Validates a message a subscriber sent to the agent. */
export function parseClientMessage(text: string): Parsed<ClientMessage, ClientRejectReason> {
  if (text.length > MAX_CLIENT_MESSAGE_BYTES) return { ok: false, reason: 'too-large', detail: `over ${MAX_CLIENT_MESSAGE_BYTES} bytes` };
  const parsed = parseObject(text);
  if (!parsed.ok) return parsed;
  const m = parsed.message;
  switch (m.type) {
    case 'subscribe':
      if (m.after_id !== undefined && !isId(m.after_id)) return { ok: false, reason: 'bad-field', detail: 'after_id must be a non-negative integer' };
      if (m.session !== undefined && !isUint32(m.session)) return { ok: false, reason: 'bad-field', detail: 'session must be a 32-bit unsigned integer' };
      return {
        ok: true,
        message: { type: 'subscribe', v: 1, ...(m.after_id === undefined ? {} : { after_id: m.after_id as number }),
          ...(m.session === undefined ? {} : { session: m.session as number }) },
      };
    case 'flush':
      if (!isUint32(m.session)) return { ok: false, reason: 'bad-field', detail: 'session must be a 32-bit unsigned integer' };
      return { ok: true, message: { type: 'flush', v: 1, session: m.session } };
    case 'breach':
      if (!isUint32(m.session) || !isId(m.seq) || !isId(m.rtt_ns)) {
        return { ok: false, reason: 'bad-field', detail: 'breach needs session, seq and rtt_ns as non-negative integers' };
      }
      return { ok: true, message: { type: 'breach', v: 1, session: m.session, seq: m.seq, rtt_ns: m.rtt_ns } };
    default:
      return { ok: false, reason: 'unknown-type', detail: `unknown type ${describeType(m.type)}` };
  }
}

export type AgentRejectReason = ClientRejectReason;

function isEncodedHistogram(value: unknown): value is EncodedHistogram {
  const h = value as EncodedHistogram;
  return typeof h === 'object' && h !== null && isId(h.count) && Number.isFinite(h.max_ns) && typeof h.encoded === 'string'
    && (h.max_at_ms === undefined || Number.isFinite(h.max_at_ms));
}

/** Longest peer text kept ("[v6 address%scope]:port" fits). */
const MAX_PEER_CHARS = 80;
const MAX_ERROR_MESSAGE_CHARS = 500;
const SESSION_END_REASONS = ['idle', 'agent-exit'] as const;

/** Per-reason counts rebuilt: reasons this build does not know are left out; a bad count is an error. */
function parseRejectCounts(value: unknown): RejectCounts | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const counts: RejectCounts = {};
  for (const [reason, n] of Object.entries(value as Record<string, unknown>)) {
    if (!(REJECT_REASONS as readonly string[]).includes(reason)) continue;
    if (!isId(n)) return null;
    counts[reason as RejectReason] = n;
  }
  return counts;
}

/** An interval rebuilt from its checked fields only (the controller keeps and reports them). */
function parseInterval(m: Record<string, unknown>, bad: (detail: string) => Parsed<AgentMessage, AgentRejectReason>): Parsed<AgentMessage, AgentRejectReason> {
  if (!isId(m.id) || !isUint32(m.session) || typeof m.start_ms !== 'number' || typeof m.end_ms !== 'number') {
    return bad('interval needs id, session, start_ms, end_ms');
  }
  if (typeof m.peer !== 'string') return bad('interval needs peer');
  const histograms = m.histograms as Record<string, unknown> | undefined;
  if (typeof histograms !== 'object' || histograms === null || Array.isArray(histograms)) return bad('interval needs histograms');
  const kept: Partial<Record<AgentTag, EncodedHistogram>> = {};
  for (const [tag, h] of Object.entries(histograms)) {
    if (!(AGENT_TAGS as readonly string[]).includes(tag) || !isEncodedHistogram(h)) return bad(`bad histogram '${tag}'`);
    kept[tag as AgentTag] = { count: h.count, max_ns: h.max_ns, encoded: h.encoded, ...(h.max_at_ms === undefined ? {} : { max_at_ms: h.max_at_ms }) };
  }
  const counts = m.counts as Record<string, unknown> | null | undefined;
  // gaps is a per-interval delta: a late probe filling an earlier interval's gap makes it negative.
  if (typeof counts !== 'object' || counts === null || !isId(counts.received) || !Number.isSafeInteger(counts.gaps)
    || !isId(counts.reordered) || !isId(counts.duplicates)) return bad('interval needs counts');
  const rejected = parseRejectCounts(counts.rejected);
  if (rejected === null) return bad('interval counts.rejected must map reasons to non-negative integers');
  if (!Number.isFinite(m.start_ms) || !Number.isFinite(m.end_ms)) return bad('interval start_ms/end_ms must be finite');
  const socket = m.socket as Record<string, unknown> | null | undefined;
  if (socket !== undefined && (typeof socket !== 'object' || socket === null || !isId(socket.receive_buffer_drops)
    || !isNonNegative(socket.backlog_paused_ms))) {
    return bad('interval socket needs receive_buffer_drops (a count) and backlog_paused_ms (>= 0)');
  }
  return {
    ok: true,
    message: {
      type: 'interval', v: 1, id: m.id, session: m.session, peer: m.peer.slice(0, MAX_PEER_CHARS),
      start_ms: m.start_ms, end_ms: m.end_ms, histograms: kept,
      counts: {
        received: counts.received as number, gaps: counts.gaps as number, reordered: counts.reordered as number,
        duplicates: counts.duplicates as number, rejected,
      },
      ...(socket === undefined ? {} : {
        socket: { receive_buffer_drops: socket.receive_buffer_drops as number, backlog_paused_ms: socket.backlog_paused_ms as number },
      }),
    },
  };
}

/** Validates a message from an agent (the controller trusts nothing it receives either). */
export function parseAgentMessage(text: string): Parsed<AgentMessage, AgentRejectReason> {
  const parsed = parseObject(text);
  if (!parsed.ok) return parsed;
  const m = parsed.message;
  const bad = (detail: string): Parsed<AgentMessage, AgentRejectReason> => ({ ok: false, reason: 'bad-field', detail });
  switch (m.type) {
    case 'hello':
      if (typeof m.instance !== 'string' || !isId(m.first_id) || !isId(m.last_id)) return bad('hello needs instance, first_id, last_id');
      return parseHello(m, bad);
    case 'interval':
      return parseInterval(m, bad);
    case 'session-end':
      if (!isId(m.id) || !isUint32(m.session)) return bad('session-end needs id and session');
      if (!(SESSION_END_REASONS as readonly unknown[]).includes(m.reason)) return bad(`session-end reason must be one of ${SESSION_END_REASONS.join(', ')}`);
      return { ok: true, message: { type: 'session-end', v: 1, id: m.id, session: m.session, reason: m.reason as SessionEndMessage['reason'] } };
    case 'flushed':
      if (!isUint32(m.session) || !isId(m.last_id)) return bad('flushed needs session and last_id');
      return { ok: true, message: { type: 'flushed', v: 1, session: m.session, last_id: m.last_id } };
    case 'dropped':
      if (!isId(m.count) || !isId(m.total)) return bad('dropped needs count and total');
      return { ok: true, message: { type: 'dropped', v: 1, count: m.count, total: m.total } };
    case 'error':
      if (!(CLIENT_REJECT_REASONS as readonly unknown[]).includes(m.code) || typeof m.message !== 'string') {
        return bad(`error needs code (one of ${CLIENT_REJECT_REASONS.join(', ')}) and message`);
      }
      return { ok: true, message: { type: 'error', v: 1, code: m.code as ClientRejectReason, message: m.message.slice(0, MAX_ERROR_MESSAGE_CHARS) } };
    default:
      return { ok: false, reason: 'unknown-type', detail: `unknown type ${describeType(m.type)}` };
  }
}
