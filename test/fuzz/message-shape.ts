import { AGENT_TAGS, CLIENT_REJECT_REASONS } from '../../shared/messages/agent-messages.js';

/**
 * Whether an accepted stream message really has the shape its TypeScript type promises
 * (shared/messages/agent-messages.ts): what the code that receives it relies on. Returns the
 * first field that does not fit ("interval: counts.reordered is undefined"), or null.
 */

type Check = (value: unknown) => boolean;
type Shape = Record<string, Check>;

const isId: Check = (v) => Number.isSafeInteger(v) && (v as number) >= 0;
const isUint32: Check = (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffff_ffff;
const isNumber: Check = (v) => typeof v === 'number' && Number.isFinite(v);
const isString: Check = (v) => typeof v === 'string';
const isOneOf = (...values: readonly unknown[]): Check => (v) => values.includes(v);
const optional = (check: Check): Check => (v) => v === undefined || check(v);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStampSource = isOneOf('user', 'kernel', 'hardware');

const CLIENT_SHAPES: Record<string, Shape> = {
  subscribe: { after_id: optional(isId), session: optional(isUint32) },
  flush: { session: isUint32 },
  breach: { session: isUint32, seq: isId, rtt_ns: isId },
};

const AGENT_SHAPES: Record<string, Shape> = {
  hello: {
    agent_version: isString, instance: isString, interval_ms: isNumber, replay_ms: isNumber, first_id: isId, last_id: isId,
    clocks: (v) => isObject(v) && isStampSource(v.t2) && isStampSource(v.t3) && isString(v.turnaround),
    clock_sync: (v) => isObject(v) && isOneOf('none', 'ptp', 'ntp')(v.mode) && (v.error_ns === null || isNumber(v.error_ns)),
  },
  interval: {
    id: isId, session: isUint32, peer: isString, start_ms: isNumber, end_ms: isNumber,
    histograms: (v) => isObject(v) && Object.entries(v).every(([tag, h]) => (AGENT_TAGS as readonly string[]).includes(tag)
      && isObject(h) && isId(h.count) && isNumber(h.max_ns) && isString(h.encoded)),
  },
  'session-end': { id: isId, session: isUint32, reason: isOneOf('idle', 'agent-exit') },
  flushed: { session: isUint32, last_id: isId },
  dropped: { count: isId, total: isId },
  error: { code: isOneOf(...CLIENT_REJECT_REASONS), message: isString },
};

/** IntervalCounts, field by field (nested, so named one by one in the answer). */
const COUNTS_SHAPE: Shape = {
  // gaps is a per-interval delta: a late probe filling an earlier interval's gap makes it negative.
  received: isId, gaps: Number.isSafeInteger, reordered: isId, duplicates: isId,
  rejected: (v) => isObject(v) && Object.values(v).every(isId),
};

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    return 'nested too deep to show';
  }
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function firstMisfit(object: Record<string, unknown>, shape: Shape, prefix: string): string | null {
  for (const [key, check] of Object.entries(shape)) {
    if (!check(object[key])) return `${prefix}${key} is ${describe(object[key])}`;
  }
  return null;
}

function shapeError(message: unknown, shapes: Record<string, Shape>): string | null {
  if (!isObject(message)) return `not an object: ${describe(message)}`;
  const type = String(message.type);
  const shape = shapes[type];
  if (shape === undefined) return `type ${describe(message.type)}`;
  if (message.v !== 1) return `${type}: v is ${describe(message.v)}`;
  const misfit = firstMisfit(message, shape, `${type}: `);
  if (misfit !== null || type !== 'interval') return misfit;
  if (!isObject(message.counts)) return `interval: counts is ${describe(message.counts)}`;
  return firstMisfit(message.counts, COUNTS_SHAPE, 'interval: counts.');
}

export function clientMessageShapeError(message: unknown): string | null {
  return shapeError(message, CLIENT_SHAPES);
}

export function agentMessageShapeError(message: unknown): string | null {
  return shapeError(message, AGENT_SHAPES);
}
