/** Parsers for flag values. Each returns the value or an Error whose message names the flag. */

const DURATION_UNITS_NS: Record<string, number> = {
  ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9, d: 86_400e9,
};

/** "30s", "1.5s", "500ms", "250us", "10m", "16h"; a bare number is seconds. */
export function parseDurationNs(flag: string, text: string): number | Error {
  if (/^\s*-\d/.test(text)) return new Error(`${flag}: '${text}' must be above 0`);
  const match = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) return new Error(`${flag}: '${text}' is not a duration (examples: 30s, 500ms, 250us, 10m, 16h)`);
  const ns = Number(match[1]) * (DURATION_UNITS_NS[match[2] ?? 's'] ?? 1e9);
  return Math.round(ns);
}

/** An integer within [min, max]. */
export function parseIntegerIn(flag: string, text: string, min: number, max: number): number | Error {
  if (/^\s*-\d+$/.test(text)) return new Error(`${flag}: ${text.trim()} is out of range ${min}..${max}`);
  if (!/^\d+$/.test(text.trim())) return new Error(`${flag}: '${text}' is not a whole number`);
  const value = Number(text);
  if (value < min || value > max) return new Error(`${flag}: ${value} is out of range ${min}..${max}`);
  return value;
}

/** A positive rate in Hz; "100", "2.5", "1k", "10k". */
export function parseRateHz(flag: string, text: string): number | Error {
  if (/^\s*-\d/.test(text)) return new Error(`${flag}: '${text}' must be above 0 Hz`);
  const match = /^(\d+(?:\.\d+)?)(k)?$/i.exec(text.trim());
  if (!match) return new Error(`${flag}: '${text}' is not a rate in Hz (examples: 100, 1k)`);
  const hz = Number(match[1]) * (match[2] ? 1000 : 1);
  if (!(hz > 0)) return new Error(`${flag}: the rate must be above 0 Hz`);
  if (hz > 1_000_000) return new Error(`${flag}: ${hz} Hz is above the 1 MHz limit`);
  return hz;
}

/** A UDP port 0..65535 (0 = any free port where listening). */
export function parsePort(flag: string, text: string): number | Error {
  return parseIntegerIn(flag, text, 0, 65535);
}

/**
 * A loss limit: "0.1%" (percent) or "0.001" (a ratio, as --alert-loss has always read it);
 * 0 only where `allowZero` (--max-loss 0: no loss at all).
 */
export function parseLossRatio(flag: string, text: string, allowZero: boolean): number | Error {
  const match = /^(\d+(?:\.\d+)?)(%)?$/.exec(text.trim());
  const ratio = match ? Number(match[1]) / (match[2] ? 100 : 1) : Number.NaN;
  if (/^\s*-/.test(text)) return new Error(`${flag}: must be ${allowZero ? '0 or above' : 'above 0'} (examples: 0.1%, 0.001)`);
  if (!((allowZero ? ratio >= 0 : ratio > 0) && ratio <= 1)) return new Error(`${flag}: '${text}' is not a loss ${allowZero ? 'limit' : 'threshold'} (examples: 0.1%, 0.001)`);
  return ratio;
}
