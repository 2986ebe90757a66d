import { parseDurationNs } from '../../shared/cli/parse-values.js';

/**
 * A --from/--to time as epoch ms: ISO 8601 ("2024-05-01", "2024-05-01T10:00", "…Z",
 * "…+02:00"; no zone = UTC, so a report reads the same on every machine), epoch seconds
 * ("1714557600"), "now", or relative to now: "-1h", "-30m", "-2d". An Error names the flag.
 */
export function parseReportTime(flag: string, text: string, nowMs: number): number | Error {
  const value = text.trim();
  if (value === 'now') return nowMs;
  if (value.startsWith('-')) {
    const ns = parseDurationNs(flag, value.slice(1));
    return ns instanceof Error ? new Error(`${flag}: '${text}' is not a time (examples: -1h, -30m, 2024-05-01T10:00Z)`) : nowMs - ns / 1e6;
  }
  if (/^\d{9,11}(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const match = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}:?\d{2})?)?$/.exec(value);
  if (match) {
    const [, date, time, zone] = match;
    const offset = zone === undefined ? 'Z' : zone.replace(/^([+-]\d{2})(\d{2})$/, '$1:$2');
    const ms = Date.parse(`${date}T${time ?? '00:00:00'}${offset}`);
    if (!Number.isNaN(ms)) return ms;
  }
  return new Error(`${flag}: '${text}' is not a time (examples: -1h, -30m, 2024-05-01T10:00Z, 1714557600)`);
}
