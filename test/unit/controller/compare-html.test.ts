import { describe, expect, it } from 'vitest';
import { escapeHtml, percentileTickLabel, renderCompareHtml } from '../../../controller/report/compare-html.js';
import { formatHgrm, parseHgrm, type HgrmRow } from '../../../controller/report/hgrm.js';
import { buildTargetReport, type RunReport, type TargetReport } from '../../../controller/report/run-report.js';
import { TargetStats } from '../../../controller/recording/target-stats.js';

const START_MS = Date.UTC(2026, 10, 24, 12, 0, 0);

/** A target's stats after `rttsNs`, one probe each 10 ms from START_MS. */
function stats(name: string, rttsNs: number[]): TargetStats {
  const s = new TargetStats({ name, address: '127.0.0.1', port: 7707, family: 4, mode: 'udp' }, 1,
    { capacity: 64, timeoutNs: 1e9, lossAfterNs: 10_000_000_000n });
  rttsNs.forEach((rttNs, i) => s.recordRoundTrip({
    seq: BigInt(i), rttNs, sentWallMs: START_MS + i * 10, late: false, userFallback: false, turnaroundNs: null,
  }));
  return s;
}

function report(targets: TargetReport[]): RunReport {
  return {
    version: 1, tool: 'rtprobe', started: new Date(START_MS).toISOString(), duration_s: 5, rate_hz: 100, size_bytes: 64,
    timeout_ns: 1e9, loss_after_ns: 10e9, targets, rejected_unattributed: {}, process: { rss_bytes: 1, cpu_user_s: 0, cpu_system_s: 0 },
  };
}

// 5 s at 100 Hz: passthrough 80..120 µs with a 330 µs worst; emulated ~300 µs with a 100 ms stall at 3 s.
const PT = Array.from({ length: 500 }, (_, i) => (i === 250 ? 330_000 : 80_000 + (i % 41) * 1_000));
const EMU = Array.from({ length: 500 }, (_, i) => (i === 300 ? 100_000_000 : 250_000 + (i % 37) * 3_000));
const PT_STATS = stats('passthrough', PT);
const EMU_STATS = stats('emulated', EMU);
const REPORT = report([buildTargetReport(PT_STATS, 'kernel'), buildTargetReport(EMU_STATS, 'kernel')]);

function rowsOf(s: TargetStats): HgrmRow[] {
  const hgrm = parseHgrm(formatHgrm(s.rtt.histogram));
  if (hgrm instanceof Error) throw hgrm;
  return hgrm.rows;
}

const DISTRIBUTIONS = new Map([['passthrough', rowsOf(PT_STATS)], ['emulated', rowsOf(EMU_STATS)]]);

describe('renderCompareHtml', () => {
  const html = renderCompareHtml(REPORT, DISTRIBUTIONS);

  it('is one HTML document with two inline SVG plots', () => {
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html.match(/<svg /g)).toHaveLength(2);
    expect(html).toContain('<title>rtprobe compare: passthrough vs emulated</title>');
  });

  it('loads nothing from outside: no script, no links, no URLs', () => {
    expect(html).not.toMatch(/https?:/);
    expect(html).not.toMatch(/<script|<link|<img|<iframe|\ssrc=|\shref=|url\(|@import/i);
  });

  it('draws both series in both plots, in two colours, with a legend', () => {
    expect(html.match(/<polyline class="series series-0"/g)).toHaveLength(2);
    expect(html.match(/<polyline class="series series-1"/g)).toHaveLength(2);
    expect(html).toContain('stroke="#1f77b4"');
    expect(html).toContain('stroke="#d62728"');
    // the max-over-time legend names them; the percentile legend adds each worst case
    expect(html.match(/>passthrough<\/text>/g)).toHaveLength(1);
    expect(html.match(/>emulated<\/text>/g)).toHaveLength(1);
    expect(html.match(/class="worst-label" x="[\d.]+" y="(16|30)">passthrough worst /g)).toHaveLength(1);
  });

  it('plots the full distribution when given it (more points than the report has percentiles)', () => {
    const points = /<polyline class="series series-1"[^>]* points="([^"]*)"/.exec(html)?.[1]?.split(' ') ?? [];
    expect(points.length).toBe(DISTRIBUTIONS.get('emulated')?.filter((r) => r.percentile < 1).length as number + 1);
    const fallback = renderCompareHtml(REPORT);
    const fewer = /<polyline class="series series-1"[^>]* points="([^"]*)"/.exec(fallback)?.[1]?.split(' ') ?? [];
    expect(fewer.length).toBeGreaterThan(2);
    expect(fewer.length).toBeLessThan(points.length);
  });

  it('marks and labels each worst case', () => {
    expect(html).toMatch(/<circle class="worst worst-0"/);
    expect(html).toMatch(/<circle class="worst worst-1"/);
    expect(html).toContain('>passthrough worst 330.0 µs</text>');
    expect(html).toContain('>emulated worst 100.000 ms</text>');
  });

  it('labels the percentile axis 0% … 99.999% and the latency axis in time units', () => {
    for (const label of ['0%', '90%', '99%', '99.9%', '99.99%', '99.999%']) {
      expect(html).toContain(`text-anchor="middle">${label}</text>`);
    }
    expect(html).toContain('>100 µs</text>');
    expect(html).toContain('>100 ms</text>');
  });

  it('has the tables: facts, every row with the ratio, loss, worst events', () => {
    expect(html).toContain('<th>started</th><td>2026-11-24T12:00:00.000Z</td>');
    expect(html).toMatch(/<td>max<\/td><td class="num">330\.0 µs<\/td><td class="num">100\.000 ms<\/td><td class="num">303x<\/td>/);
    expect(html).toMatch(/<td>lost<\/td><td class="num">0<\/td><td class="num">0<\/td>/);
    expect(html).toMatch(/<td>1<\/td><td>250<\/td><td class="num">330\.0 µs<\/td>/);
    expect(html).toContain('kernel SO_TIMESTAMPING');
  });

  it('shows the sender, the agent breakdown and refusals beside the ratio rows; a starved sender gets a warning (issue 16)', () => {
    const [pt, emu] = REPORT.targets as [TargetReport, TargetReport];
    expect(html).toMatch(/<td>missed slots<\/td><td class="num">0<\/td><td class="num">0<\/td>/);
    expect(html).not.toContain('class="warn"');
    const starved = { ...emu, missed_send_slots: 104, send_error_ns: { ...emu.send_error_ns, p99: 8_700_000 }, refused: { 'session-limit': 7 } };
    const unknown = { ...pt, agent: null, agent_unknown: { url: 'ws://127.0.0.1:1/v1/stream', reason: 'the agent stream never connected: 401 unauthorized' } };
    const out = renderCompareHtml(report([unknown, starved]));
    expect(out).toMatch(/<p class="warn">WARNING: emulated: the sender was starved: 104 of \d+ send slots missed/);
    expect(out.indexOf('class="warn"')).toBeLessThan(out.indexOf('<h2>Round trip</h2>'));
    expect(out).toMatch(/<td>missed slots<\/td><td class="num">0<\/td><td class="num">104<\/td>/);
    expect(out).toMatch(/<td>send err p99<\/td><td class="num">-<\/td><td class="num">8700\.0 µs<\/td>/);
    expect(out).toMatch(/<td>stream<\/td><td class="num">UNKNOWN<\/td><td class="num">not asked<\/td>/);
    expect(out).toMatch(/<td>refused<\/td><td class="num">none<\/td><td class="num">session-limit 7<\/td>/);
    expect(out).toContain('passthrough: agent breakdown unknown: the agent stream never connected: 401 unauthorized');
  });

  it('writes each latency column in one unit, the units of the two columns their own', () => {
    const table = html.slice(html.indexOf('<h2>Round trip</h2>'), html.indexOf('<h2>Sender, network, agent</h2>'));
    const column = (n: number): string[] => [...table.matchAll(/<tr><td>[^<]*<\/td>((?:<td[^>]*>[^<]*<\/td>){3})<\/tr>/g)]
      .map((m) => [...(m[1] ?? '').matchAll(/<td[^>]*>([^<]*)<\/td>/g)][n]?.[1] ?? '');
    const emulated = column(1).filter((v) => v !== '= max');
    expect(emulated).toHaveLength(6); // min, p50, p90, p99, max, mean
    for (const value of emulated) expect(value).toMatch(/^\d+\.\d{3} ms$/);
    expect(emulated).toContain('0.250 ms'); // the min, in the column's unit
    for (const value of column(0).filter((v) => v !== '= max')) expect(value).toMatch(/^\d+\.\d µs$/);
    const worst = html.slice(html.indexOf('<h2>Worst round trips</h2>'));
    expect(worst).toContain('<td class="num">100.000 ms</td>');
    expect(worst).toMatch(/<td class="num">0\.\d{3} ms<\/td>/); // the emulated column's other worst cases, in ms
  });

  it('marks percentiles that 500 samples cannot resolve as "= max", with the reason', () => {
    expect(html).toMatch(/<td>p99<\/td><td class="num">[\d.]+ µs<\/td>/);
    for (const p of ['99.9', '99.99', '99.999']) {
      const needed = { '99.9': 1000, '99.99': 10000, '99.999': 100000 }[p];
      expect(html).toContain(`<td>p${p}</td><td class="num unresolved" title="500 samples: p${p} needs at least ${needed} to differ from the max; it is the max here">= max</td>`);
    }
  });

  it('escapes target names everywhere', () => {
    const evil = '<script>alert("x")</script>';
    const pt = buildTargetReport(stats(evil, PT), 'kernel');
    const out = renderCompareHtml(report([pt, buildTargetReport(stats('emu&co', EMU), 'kernel')]));
    expect(out).not.toContain('<script');
    expect(out).toContain('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;');
    expect(out).not.toMatch(/emu&co/);
    expect(out).toContain('emu&#38;co');
  });

  it('widens the percentile axis for runs with more than 10^5 samples', () => {
    const [pt, emu] = REPORT.targets as [TargetReport, TargetReport];
    const long = renderCompareHtml(report([pt, { ...emu, rtt_ns: { ...emu.rtt_ns, count: 5_760_000 } }]));
    expect(long).toContain('>99.99999%</text>');
  });

  it('still renders both plots for a target that never answered', () => {
    const silent = renderCompareHtml(report([REPORT.targets[0] as TargetReport, buildTargetReport(stats('emulated', []), 'kernel')]));
    expect(silent.match(/<svg /g)).toHaveLength(2);
    expect(silent).not.toMatch(/NaN|Infinity/);
  });
});

describe('helpers', () => {
  it('escapeHtml covers & < > " \'', () => {
    expect(escapeHtml(`a&b<c>"d'`)).toBe('a&#38;b&#60;c&#62;&#34;d&#39;');
  });

  it('percentileTickLabel spells the nines', () => {
    expect([0, 1, 2, 3, 5, 6].map(percentileTickLabel)).toEqual(['0%', '90%', '99%', '99.9%', '99.999%', '99.9999%']);
  });
});
