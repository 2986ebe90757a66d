import { mutate } from './mutate-bytes.js';
import type { Prng } from '../helpers/prng.js';

/** A JSON value, as JSON.parse returns it. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** Values of the wrong type or at a range edge for any field. */
export const WEIRD_VALUES: readonly Json[] = [
  null, true, false, 0, -1, 1.5, -0.5, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, -(2 ** 53),
  1e308, -1e308, 5e-324, '', '1', '0', 'subscribe', 'NaN', '\u0000', '\ud800', '😀', '\u2028', [], [1], {}, { v: 1 },
];

/** Number tokens JSON.parse reads oddly or not at all: overflow to Infinity, -0, precision loss, non-JSON forms. */
const RAW_NUMBERS = ['1e999', '-1e999', '1E400', '-0', '0.0', '1.0', '1e0', '4294967296', '9007199254740993',
  '123456789012345678901234567890', '1e-400', '0x10', 'NaN', 'Infinity', '01', '.5', '+1', '1.', '-'] as const;

/** Keys that are special somewhere in JavaScript, or nearly a real key. */
const WEIRD_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '', ' type', 'Type',
  'v ', '\u0000', 'after_id\u0000', 'session\ud800'] as const;

/** Strings that make messages that are not JSON objects, or not JSON. */
const NOT_OBJECTS = ['[]', '"subscribe"', '1', 'null', 'true', '[{"type":"subscribe","v":1}]', '', ' ', '{', '}', '{"type":',
  '\ufeff{"type":"subscribe","v":1}', '{"type":"subscribe","v":1}\u0000', '{"type":"subscribe","v":1}}', "{'type':'subscribe'}",
  '{type:"subscribe",v:1}', '\u2028{}', 'undefined'] as const;

/** A JSON text of `depth` nested arrays or objects. */
function nested(rng: Prng, depth: number): string {
  return rng.chance(0.5) ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/**
 * A mutated copy of a valid message object, serialized: fields dropped, set to weird values or
 * to raw number tokens, unknown (and prototype-named) keys added, deep nesting, duplicate keys.
 * `types` are the message types of the protocol, for type swaps.
 */
export function mutateMessage(rng: Prng, message: JsonObject, types: readonly string[], maxDepth: number): string {
  const object: JsonObject = { ...message };
  const raws: string[] = [];
  const raw = (text: string): string => {
    raws.push(text);
    return `@@RAW${raws.length - 1}@@`;
  };
  let suffix = '';
  const n = rng.range(1, 3);
  for (let i = 0; i < n; i++) {
    const keys = Object.keys(object);
    const key = keys.length > 0 ? rng.pick(keys) : 'type';
    switch (rng.int(9)) {
      case 0: delete object[key]; break;
      case 1: object[key] = rng.pick(WEIRD_VALUES); break;
      case 2: object[key] = raw(rng.pick(RAW_NUMBERS)); break;
      case 3: object[rng.chance(0.5) ? rng.pick(WEIRD_KEYS) : `x${rng.int(100)}`] = rng.pick(WEIRD_VALUES); break;
      case 4: object.type = rng.chance(0.6) ? rng.pick(types) : rng.pick(['', 'SUBSCRIBE', 'subscribe ', 'hello', 'unknown', 'interval']); break;
      case 5: object.v = rng.pick<Json>([0, 2, '1', 1.0000001, null, [1], raw('1.0'), raw('1e0'), raw('1e999'), raw('-0')]); break;
      case 6: object[key] = raw(nested(rng, rng.chance(0.9) ? rng.range(1, 64) : rng.range(64, maxDepth))); break;
      case 7: suffix += `,${JSON.stringify(key)}:${JSON.stringify(rng.pick(WEIRD_VALUES))}`; break;
      default: object[key] = rng.chance(0.5) ? 'x'.repeat(rng.range(100, 5000)) : rng.pick(WEIRD_VALUES); break;
    }
  }
  let text = JSON.stringify(object).replace(/"@@RAW(\d+)@@"/g, (_m, i: string) => raws[Number(i)] ?? '');
  if (suffix) text = text === '{}' ? `{${suffix.slice(1)}}` : `${text.slice(0, -1)}${suffix}}`;
  return text;
}

/** A text-level mutation: bytes of the UTF-8 flipped, cut or spliced (read back as the agent reads frames). */
export function mutateText(rng: Prng, text: string): string {
  switch (rng.int(4)) {
    case 0: return mutate(rng, Buffer.from(text, 'utf8'), [], 3).toString('utf8');
    case 1: return text.slice(0, rng.int(text.length + 1));
    case 2: {
      const at = rng.int(text.length + 1);
      return text.slice(0, at) + rng.pick(['\ud800', '\udc00', '😀', '\ufeff', '\u0000', ' ', '\n', '\\', '"', ',', '}', '\u00e9']) + text.slice(at);
    }
    default: return ` \t\n${text}\r\n `;
  }
}

/** Not a JSON object at all: other JSON values, broken JSON, random text. */
export function notAnObject(rng: Prng): string {
  if (rng.chance(0.6)) return rng.pick(NOT_OBJECTS);
  return rng.chance(0.5) ? rng.bytes(rng.range(0, 200)).toString('utf8') : rng.bytes(rng.range(0, 200)).toString('latin1');
}
