import { AGENT_TAGS, CLIENT_REJECT_REASONS } from '../../shared/messages/agent-messages.js';
import { histogramPayload } from './histogram-inputs.js';
import { mutateMessage, mutateText, notAnObject, type Json, type JsonObject } from './json-mutations.js';
import type { Prng } from '../helpers/prng.js';

export const CLIENT_TYPES = ['subscribe', 'flush', 'breach'] as const;
export const AGENT_TYPES = ['hello', 'interval', 'session-end', 'flushed', 'dropped', 'error'] as const;

/** An id: a non-negative safe integer, the edges more often than their share. */
function id(rng: Prng): number {
  return rng.chance(0.3) ? rng.pick([0, 1, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1]) : rng.int(1_000_000);
}

function uint32(rng: Prng): number {
  return rng.chance(0.3) ? rng.pick([0, 1, 2 ** 31, 2 ** 32 - 1]) : rng.u32();
}

/** A valid message a controller sends to an agent's stream. */
export function validClientMessage(rng: Prng): JsonObject {
  switch (rng.pick(CLIENT_TYPES)) {
    case 'subscribe': {
      const m: JsonObject = { type: 'subscribe', v: 1 };
      if (rng.chance(0.6)) m.after_id = id(rng);
      if (rng.chance(0.6)) m.session = uint32(rng);
      return m;
    }
    case 'flush': return { type: 'flush', v: 1, session: uint32(rng) };
    default: return { type: 'breach', v: 1, session: uint32(rng), seq: id(rng), rtt_ns: id(rng) };
  }
}

function encodedHistogram(rng: Prng): JsonObject {
  return { count: id(rng), max_ns: rng.int(60e9), encoded: histogramPayload(rng) };
}

/** A valid message an agent sends to a controller. */
export function validAgentMessage(rng: Prng): JsonObject {
  switch (rng.pick(AGENT_TYPES)) {
    case 'hello':
      return {
        type: 'hello', v: 1, agent_version: '0.1.0', instance: 'f1d2b1e0-0000-4000-8000-000000000000',
        clocks: { t2: 'kernel', t3: 'user', turnaround: 'CLOCK_REALTIME' }, clock_sync: { mode: 'none', error_ns: null },
        interval_ms: 1000, replay_ms: 600_000, first_id: id(rng), last_id: id(rng),
      };
    case 'interval': {
      const histograms: JsonObject = {};
      for (const tag of AGENT_TAGS) if (rng.chance(0.5)) histograms[tag] = encodedHistogram(rng);
      const rejected: JsonObject = rng.chance(0.5) ? {} : { short: id(rng), 'bad-magic': id(rng) };
      return {
        type: 'interval', v: 1, id: id(rng), session: uint32(rng), peer: '127.0.0.1:40000', start_ms: 1_700_000_000_000,
        end_ms: 1_700_000_001_000, histograms,
        counts: { received: id(rng), gaps: id(rng), reordered: id(rng), duplicates: id(rng), rejected },
      };
    }
    case 'session-end': return { type: 'session-end', v: 1, id: id(rng), session: uint32(rng), reason: rng.pick(['idle', 'agent-exit']) };
    case 'flushed': return { type: 'flushed', v: 1, session: uint32(rng), last_id: id(rng) };
    case 'dropped': return { type: 'dropped', v: 1, count: id(rng), total: id(rng) };
    default: return { type: 'error', v: 1, code: rng.pick(CLIENT_REJECT_REASONS), message: 'bad-json: not valid JSON' };
  }
}

/** Sets a value somewhere inside a message (nested fields are where validators stop looking). */
function mutateNested(rng: Prng, message: JsonObject): JsonObject {
  const copy = JSON.parse(JSON.stringify(message)) as JsonObject;
  const objects: JsonObject[] = [];
  const walk = (value: Json): void => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
    objects.push(value);
    for (const child of Object.values(value)) walk(child);
  };
  walk(copy);
  const target = rng.pick(objects);
  const keys = Object.keys(target);
  const key = keys.length > 0 && rng.chance(0.8) ? rng.pick(keys) : 'extra';
  if (rng.chance(0.3)) delete target[key];
  else target[key] = rng.pick<Json>([null, 'x', -1, 1.5, 2 ** 53, [], {}, true, 1e308]);
  return copy;
}

/**
 * A message text for one side's validator: valid messages, mutated ones (fields, nesting,
 * raw tokens, text bytes), non-objects and non-JSON. maxDepth bounds the nesting (and so the
 * size: client messages above 4096 bytes are refused by size before they are parsed).
 */
export function messageText(rng: Prng, side: 'client' | 'agent', maxDepth = side === 'client' ? 1500 : 20_000): string {
  const valid = side === 'client' ? validClientMessage(rng) : validAgentMessage(rng);
  const types = side === 'client' ? CLIENT_TYPES : AGENT_TYPES;
  const kind = rng.int(100);
  if (kind < 15) return JSON.stringify(valid);
  if (kind < 25) return notAnObject(rng);
  if (kind < 45) return JSON.stringify(mutateNested(rng, valid));
  const text = mutateMessage(rng, valid, types, maxDepth);
  return kind < 85 ? text : mutateText(rng, text);
}
