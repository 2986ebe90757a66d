import { describe, it, expect } from 'vitest';
import { formatRunReport, formatTargetReport } from '../../../controller/report/format-report.js';
import { buildRunReport, type RunFacts, type RunReport } from '../../../controller/report/run-report.js';
import { CLOCK_OF_SOURCE } from '../../../shared/report/clock-names.js';
import { finishedRun } from './run-fixture.js';

const FACTS: RunFacts = {
  startedMs: Date.UTC(2026, 10, 24, 12, 0, 0), durationS: 0.21, rateHz: 100, sizeBytes: 64,
  timeoutNs: 1e9, lossAfterNs: 10e9, stampSource: 'user', strayRejects: {},
  process: { rss_bytes: 1, cpu_user_s: 0, cpu_system_s: 0 },
};

function report(stampSource: RunFacts['stampSource'] = 'user'): RunReport {
  const state = finishedRun();
  return buildRunReport(state.targets, { ...FACTS, stampSource, strayRejects: state.strayRejects });
}

function targetSection(text: string, name: string): string {
  const section = text.split('\n\n').find((part) => part.startsWith(`target ${name} `));
  if (section === undefined) throw new Error(`no section for ${name} in:\n${text}`);
  return section;
}

const ROW_LABELS = ['min', 'p50', 'p90', 'p99', 'p99.9', 'p99.99', 'p99.999', 'max', 'mean'];

describe('formatRunReport', () => {
  it('has a row for every percentile label, in order, per target', () => {
    const text = formatRunReport(report());
    for (const name of ['guest-a', 'guest-b']) {
      const lines = targetSection(text, name).split('\n');
      const labels = lines.map((line) => /^ {2}(\S+) /.exec(line)?.[1]).filter((l) => l !== undefined && ROW_LABELS.includes(l));
      expect(labels).toEqual(ROW_LABELS);
    }
  });

  it('heads the table with RTT, turnaround, network and send error columns', () => {
    const section = targetSection(formatRunReport(report()), 'guest-a');
    expect(section).toMatch(/RTT\s+turnaround\s+network\s+send error/);
  });

  it('writes a target address with its port unambiguously: IPv6 in brackets', () => {
    const text = formatRunReport(report());
    expect(targetSection(text, 'guest-a').split('\n')[0]).toContain('(127.0.0.1:7707, udp');
    // "::1:9000" would read as the IPv6 address ::1:9000
    expect(targetSection(text, 'guest-b').split('\n')[0]).toContain('([::1]:9000, udp');
  });

  it('shows the run parameters in the header', () => {
    const text = formatRunReport(report());
    const header = text.split('\n')[0] ?? '';
    expect(header).toContain('2026-11-24T12:00:00.000Z');
    expect(header).toContain('100 Hz');
    expect(header).toContain('64 B');
  });

  it('names the clock behind every stamp', () => {
    for (const source of ['user', 'kernel', 'hardware'] as const) {
      const section = targetSection(formatRunReport(report(source)), 'guest-a');
      expect(section).toContain(`RTT: ${source} TX/${source} RX stamps (${CLOCK_OF_SOURCE[source]})`);
      expect(section).toContain('agent T2 kernel, T3 kernel');
      expect(section).toContain(`send error: ${CLOCK_OF_SOURCE.user}`);
    }
    expect(targetSection(formatRunReport(report()), 'guest-b')).toContain('agent T2 none, T3 none');
  });

  it('gives the loss breakdown', () => {
    const section = targetSection(formatRunReport(report()), 'guest-a');
    expect(section).toContain('sent 21');
    expect(section).toContain('received 20');
    expect(section).toMatch(/lost 1 \(4\.762%\)/);
    expect(section).toContain('late 1');
    expect(section).toContain('duplicates 1');
    expect(section).toContain('reordered 1');
    expect(section).toContain('missed send slots 1');
    expect(section).toContain('rejected wrong-source 1');
    expect(targetSection(formatRunReport(report()), 'guest-b')).toMatch(/lost 21 \(100\.000%\)/);
  });

  it('lists the worst round trips, worst first, with seq, RTT and send time', () => {
    const r = report();
    const section = targetSection(formatRunReport(r), 'guest-a');
    expect(section).toContain('worst round trips');
    const worstLines = section.split('\n').filter((line) => /^\s+\d+\. seq /.test(line));
    expect(worstLines).toHaveLength(10);
    expect(worstLines.map((line) => Number(/seq (\d+)/.exec(line)?.[1]))).toEqual([7, 11, 20, 19, 18, 17, 16, 15, 14, 13]);
    expect(worstLines[0]).toContain('1.200 s');
    expect(worstLines[0]).toContain(`sent ${r.targets[0]?.worst[0]?.at}`);
  });

  it('replies rejected by --key-file come with what they most likely mean', () => {
    const r = report();
    const [a, b] = r.targets;
    if (!a || !b) throw new Error('fixture has two targets');
    a.rejected = { unauthenticated: 20 };
    b.rejected = { 'bad-auth': 3 };
    const text = formatRunReport(r);
    expect(targetSection(text, 'guest-a')).toMatch(/rejected unauthenticated 20\n +unauthenticated: unsigned replies; start the agent with the same --key-file/);
    expect(targetSection(text, 'guest-b')).toMatch(/rejected bad-auth 3\n +bad-auth: replies signed with another key/);
    expect(targetSection(formatRunReport(report()), 'guest-a')).not.toContain('--key-file');
  });

  it('a target that never answered shows dashes, no worst list, and does not throw', () => {
    const section = targetSection(formatRunReport(report()), 'guest-b');
    expect(section).not.toContain('worst round trips');
    expect(section).toMatch(/^ {2}p99\.999 +- /m);
    expect(section).toContain('rejected none');
  });

  it('reports datagrams matching no target', () => {
    expect(formatRunReport(report())).toContain('datagrams matching no target: bad-magic 1');
    const clean = { ...report(), rejected_unattributed: {} };
    expect(formatRunReport(clean)).not.toContain('datagrams matching no target');
  });

  it('mentions RTTs that fell back to user stamps', () => {
    const r = report();
    const t = r.targets[0];
    if (!t) throw new Error('no target');
    expect(formatTargetReport(t)).not.toContain('fell back');
    expect(formatTargetReport({ ...t, timestamps: { ...t.timestamps, user_fallback_rtts: 3 } }))
      .toContain('3 RTTs fell back to user stamps');
  });

  it('ends with a newline', () => {
    expect(formatRunReport(report()).endsWith('\n')).toBe(true);
  });
});

describe('an agent breakdown asked for and never had (issue 16)', () => {
  const unknown = { url: 'ws://127.0.0.1:7708/v1/stream', reason: 'the agent stream never connected: connect ECONNREFUSED 127.0.0.1:7708' };

  it('is UNKNOWN with the reason in a target in full, never zeros', () => {
    const base = report();
    const [a, b] = base.targets;
    if (!a || !b) throw new Error('fixture');
    const text = formatRunReport({ ...base, targets: [{ ...a, agent: null, agent_unknown: unknown }, b] });
    const section = targetSection(text, 'guest-a');
    expect(section).toContain(`  agent    ${unknown.url}: UNKNOWN: ${unknown.reason}; no agent breakdown, loss split unknown`);
    expect(section).not.toMatch(/agent saw/);
  });

  it('is named under the one-line-per-target summary of many targets', () => {
    const base = report();
    const [a] = base.targets;
    if (!a) throw new Error('fixture');
    const targets = Array.from({ length: 6 }, (_, i) => ({ ...a, name: `t${i}`, ...(i % 2 === 0 ? { agent: null, agent_unknown: unknown } : {}) }));
    const text = formatRunReport({ ...base, targets });
    expect(text).toContain('agent breakdown UNKNOWN for 3 targets (stream never connected): t0, t2, t4');
  });
});
