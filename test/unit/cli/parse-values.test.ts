import { describe, it, expect } from 'vitest';
import { parseDurationNs, parseIntegerIn, parsePort, parseRateHz } from '../../../shared/cli/parse-values.js';

function expectFlagError(result: unknown, flag: string): void {
  expect(result).toBeInstanceOf(Error);
  if (result instanceof Error) expect(result.message).toContain(flag);
}

describe('parseDurationNs', () => {
  it.each([
    ['30s', 30e9], ['1.5s', 1.5e9], ['500ms', 500e6], ['250us', 250e3], ['250µs', 250e3], ['10m', 600e9],
    ['16h', 16 * 3600e9], ['1d', 86_400e9], ['100ns', 100], ['30', 30e9], ['0.5', 0.5e9], [' 2s ', 2e9],
  ])('%s -> %d ns', (text, ns) => {
    expect(parseDurationNs('--duration', text)).toBe(ns);
  });

  it('rounds to whole ns', () => {
    expect(parseDurationNs('--timeout', '1.0000000004s')).toBe(1e9);
    expect(parseDurationNs('--timeout', '1.5ns')).toBe(2);
  });

  it.each(['abc', '', '-1s', '1e3', '5 s', '1.s', '.5s', '10sec', '1ks', 's', '1,5s'])('rejects %j naming the flag', (text) => {
    expectFlagError(parseDurationNs('--duration', text), '--duration');
    expectFlagError(parseDurationNs('--loss-after', text), '--loss-after');
  });
});

describe('parseIntegerIn', () => {
  it('accepts whole numbers within the bounds, inclusive', () => {
    expect(parseIntegerIn('--size', '64', 64, 1472)).toBe(64);
    expect(parseIntegerIn('--size', '1472', 64, 1472)).toBe(1472);
    expect(parseIntegerIn('--size', '0100', 64, 1472)).toBe(100);
  });

  it.each(['63', '1473', '0', '99999999999999999999'])('rejects out-of-range %s naming the flag', (text) => {
    expectFlagError(parseIntegerIn('--size', text, 64, 1472), '--size');
  });

  it.each(['abc', '', '64.0', '-64', '+64', '6 4', '1e2', '0x40'])('rejects non-integer %j naming the flag', (text) => {
    expectFlagError(parseIntegerIn('--count', text, 1, Number.MAX_SAFE_INTEGER), '--count');
  });
});

describe('parseRateHz', () => {
  it.each([['100', 100], ['2.5', 2.5], ['1k', 1000], ['10k', 10_000], ['1.5K', 1500], ['1000000', 1e6]])('%s -> %d Hz', (text, hz) => {
    expect(parseRateHz('--rate', text)).toBe(hz);
  });

  it.each(['0', '0.0', '0k', 'abc', '', '-5', '1M', '100Hz', '1e3', '1000001', '2000k'])('rejects %j naming the flag', (text) => {
    expectFlagError(parseRateHz('--rate', text), '--rate');
  });
});

describe('parsePort', () => {
  it('accepts 0..65535', () => {
    expect(parsePort('--listen', '0')).toBe(0);
    expect(parsePort('--listen', '7707')).toBe(7707);
    expect(parsePort('--listen', '65535')).toBe(65535);
  });

  it.each(['65536', '70000', '-1', 'http', ''])('rejects %j naming the flag', (text) => {
    expectFlagError(parsePort('--listen', text), '--listen');
  });
});
