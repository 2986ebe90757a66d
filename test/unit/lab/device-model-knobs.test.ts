import { describe, expect, it } from 'vitest';
import { describeKnobs, knobArgv, parseDelay, parseKnobs, parseStall } from '../../../controller/lab/device-model-knobs.js';
import { toNativeOptions } from '../../../controller/lab/native-device-model.js';

describe('parseStall', () => {
  it('TIME@EVERY', () => {
    expect(parseStall('5ms@2s')).toEqual({ stallNs: 5_000_000, stallEveryNs: 2_000_000_000 });
    expect(parseStall('250us@10ms')).toEqual({ stallNs: 250_000, stallEveryNs: 10_000_000 });
  });
  it.each(['5ms', '5ms@', '@2s', '5ms@2s@1s', 'x@2s', '0ms@1s'])('%s is an error naming --stall', (text) => {
    const result = parseStall(text);
    expect(result).toBeInstanceOf(Error);
    expect((result as Error).message).toContain('--stall');
  });
  it('a stall as long as its period is refused', () => {
    expect((parseStall('1s@1s') as Error).message).toContain('shorter than its period');
  });
});

describe('parseDelay', () => {
  it('constant, uniform, spike', () => {
    expect(parseDelay('constant:2ms')).toEqual({ kind: 'constant', ns: 2_000_000 });
    expect(parseDelay('uniform:1ms..3ms')).toEqual({ kind: 'uniform', minNs: 1_000_000, maxNs: 3_000_000 });
    expect(parseDelay('spike:5ms/100')).toEqual({ kind: 'spike', ns: 5_000_000, every: 100 });
  });
  it.each(['constant', 'constant:', 'uniform:1ms', 'uniform:3ms..1ms', 'uniform:1ms..2ms..3ms', 'spike:5ms',
    'spike:5ms/0', 'spike:5ms/x', 'gauss:1ms', ''])('%j is an error naming --delay', (text) => {
    const result = parseDelay(text);
    expect(result).toBeInstanceOf(Error);
    expect((result as Error).message).toContain('--delay');
  });
});

describe('parseKnobs', () => {
  it('no flags: no knobs (a plain copy loop)', () => {
    expect(parseKnobs({})).toEqual({});
  });
  it('every flag', () => {
    expect(parseKnobs({
      stall: '5ms@2s', 'frame-cost': '20us', queue: '256', delay: 'spike:5ms/100', 'drop-every': '7',
      'duplicate-every': '11', 'reorder-every': '13', seed: '42', distort: 'both',
    })).toEqual({
      stallNs: 5e6, stallEveryNs: 2e9, frameCostNs: 20_000, queueFrames: 256, delay: { kind: 'spike', ns: 5e6, every: 100 },
      dropEvery: 7, duplicateEvery: 11, reorderEvery: 13, seed: 42, distort: 'both',
    });
  });
  it('directions in the lab\'s words: to-guest = A→B (the host TAP is A)', () => {
    expect(parseKnobs({ distort: 'to-guest' })).toEqual({ distort: 'a-to-b' });
    expect(parseKnobs({ distort: 'to-host' })).toEqual({ distort: 'b-to-a' });
  });
  it.each([
    [{ queue: '0' }, '--queue'], [{ 'drop-every': '0' }, '--drop-every'], [{ 'reorder-every': '-1' }, '--reorder-every'],
    [{ 'frame-cost': '2s' }, '--frame-cost'], [{ seed: 'x' }, '--seed'], [{ distort: 'up' }, '--distort'],
  ])('%j → an error naming %s', (flags, flag) => {
    const result = parseKnobs(flags);
    expect(result).toBeInstanceOf(Error);
    expect((result as Error).message).toContain(flag);
  });
});

describe('knobArgv / describeKnobs', () => {
  it('hands the flags on unchanged, in a fixed order, and parses back to the same knobs', () => {
    const flags = { seed: '3', delay: 'constant:2ms', stall: '5ms@2s' };
    const argv = knobArgv(flags);
    expect(argv).toEqual(['--stall', '5ms@2s', '--delay', 'constant:2ms', '--seed', '3']);
    expect(describeKnobs(flags)).toEqual(['--stall 5ms@2s', '--delay constant:2ms', '--seed 3']);
  });
});

describe('toNativeOptions', () => {
  it('flattens the delay and leaves out what is not set', () => {
    expect(toNativeOptions({ tapA: 'a', tapB: 'b', delay: { kind: 'uniform', minNs: 1, maxNs: 3 }, seed: undefined }))
      .toEqual({ tapA: 'a', tapB: 'b', delayKind: 'uniform', delayNs: 1, delayMaxNs: 3 });
    expect(toNativeOptions({ tapA: 'a', tapB: 'b', delay: { kind: 'spike', ns: 5, every: 50 } }))
      .toEqual({ tapA: 'a', tapB: 'b', delayKind: 'spike', delayNs: 5, spikeEvery: 50 });
  });
});
