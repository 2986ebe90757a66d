import { describe, expect, it } from 'vitest';
import { evaluateAlerts } from '../../../controller/soak/alerts.js';
import { IntervalStats } from '../../../controller/recording/interval-stats.js';
import { parseLossThreshold, parseSoakOptions } from '../../../controller/soak-command.js';

describe('evaluateAlerts', () => {
  it('max RTT above the threshold alerts once, with the interval and the value', () => {
    const stats = new IntervalStats(1_000);
    stats.histograms.rtt.record(400_000);
    stats.histograms.rtt.record(600_000);
    const events: ReturnType<typeof evaluateAlerts> = [];
    stats.close(11_000, { sent: 2, received: 2, lost: 0, late: 0 }, (interval) => {
      events.push(...evaluateAlerts('pt', interval, { maxRttNs: 500_000, lossRatio: null }));
    });
    expect(events).toEqual([expect.objectContaining({
      kind: 'max-rtt', target: 'pt', value: 600_000, threshold: 500_000,
      interval_start: new Date(1_000).toISOString(), interval_end: new Date(11_000).toISOString(),
    })]);
    expect(stats.histograms.rtt.count).toBe(0);
  });

  it('at or below the threshold, or with no samples: nothing', () => {
    const stats = new IntervalStats(0);
    stats.histograms.rtt.record(500_000);
    stats.close(1000, { sent: 1, received: 1, lost: 0, late: 0 }, (interval) => {
      expect(evaluateAlerts('x', interval, { maxRttNs: 500_000, lossRatio: 0.001 })).toEqual([]);
    });
    stats.close(2000, { sent: 1, received: 1, lost: 0, late: 0 }, (interval) => {
      expect(evaluateAlerts('x', interval, { maxRttNs: 1, lossRatio: 0.001 })).toEqual([]);
    });
  });

  it('loss is per interval: counters are deltas of the run-wide ones', () => {
    const stats = new IntervalStats(0);
    stats.close(1000, { sent: 1000, received: 1000, lost: 0, late: 0 }, () => {});
    stats.close(2000, { sent: 2000, received: 1998, lost: 2, late: 0 }, (interval) => {
      expect(interval).toMatchObject({ sent: 1000, received: 998, lost: 2 });
      const events = evaluateAlerts('emu', interval, { maxRttNs: null, lossRatio: 0.001 });
      expect(events).toEqual([expect.objectContaining({ kind: 'loss', value: 0.002, threshold: 0.001 })]);
    });
  });
});

describe('soak options', () => {
  it.each([['0.1%', 0.001], ['5%', 0.05], ['0.002', 0.002], ['100%', 1]])('--alert-loss %s', (text, ratio) => {
    expect(parseLossThreshold('--alert-loss', text)).toBeCloseTo(ratio, 12);
  });
  it.each(['0', '0%', '101%', 'lots', '-1%'])('--alert-loss %s is an error naming the flag', (text) => {
    expect(String(parseLossThreshold('--alert-loss', text))).toMatch(/--alert-loss/);
  });
  it('defaults and bad values', () => {
    expect(parseSoakOptions({})).toEqual({ intervalMs: 10_000, thresholds: { maxRttNs: null, lossRatio: null }, eventsFile: null, onAlert: null, http: null, hlog: null });
    expect(String(parseSoakOptions({ resume: true }))).toMatch(/--resume: continues interval logs/);
    expect(String(parseSoakOptions({ http: '0.0.0.0:7709' }))).toMatch(/--http-token-file/);
    expect(String(parseSoakOptions({ duration: '10s' }))).toMatch(/--duration/);
    expect(String(parseSoakOptions({ count: '10' }))).toMatch(/--count/);
    expect(String(parseSoakOptions({ interval: '10ms' }))).toMatch(/--interval/);
    expect(String(parseSoakOptions({ 'alert-max': 'soon' }))).toMatch(/--alert-max/);
    expect(String(parseSoakOptions({ 'on-alert': ' ' }))).toMatch(/--on-alert/);
  });
});
