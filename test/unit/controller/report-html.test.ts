import { describe, expect, it } from 'vitest';
import { renderReportHtml, type IntervalMax } from '../../../controller/report/report-html.js';
import { formatHlogCountsLine } from '../../../controller/hlog/hlog-counts.js';
import type { HlogReadCounts } from '../../../controller/hlog/hlog-counts.js';
import { formatHlogGapLine, formatHlogHeader, formatHlogIntervalLine } from '../../../controller/hlog/hlog-format.js';
import { HlogMerger } from '../../../controller/hlog/hlog-merge.js';
import { parseHlogText, type HlogFileSummary } from '../../../controller/hlog/hlog-parser.js';
import { buildHlogReport } from '../../../controller/hlog/hlog-report.js';
import { encodeHlogLine } from '../../../controller/hlog/hlog-writer.js';
import { latencyHistogram } from '../hlog/hlog-test-data.js';

const BASE_MS = 1_714_557_600_000; // 2024-05-01T10:00:00Z
const NASTY = '<b>&"x\'';

/** A soak-like log: 10 s intervals, rtt lines and counts lines, a restart gap after interval 3. */
function log(alertsAt: number[], lossAt: Map<number, number>): string {
  let text = formatHlogHeader(BASE_MS, BASE_MS);
  const starts = [0, 1, 2, 3, 9, 10, 11].map((i) => BASE_MS + i * 10_000);
  starts.forEach((startMs, i) => {
    if (i === 4) text += formatHlogGapLine(BASE_MS + 40_000, startMs);
    const h = latencyHistogram([50_000 + i * 1000, 60_000, i === 5 ? 9_000_000 : 70_000]);
    const fields = encodeHlogLine({ tag: 'rtt', startMs, lengthMs: 10_000, maxNs: h.maxNs, histogram: h.histogram });
    if (fields instanceof Error) throw fields;
    text += formatHlogIntervalLine(fields, BASE_MS);
    const lost = lossAt.get(i) ?? 0;
    text += formatHlogCountsLine({ startMs, lengthMs: 10_000, sent: 100, received: 100 - lost, lost, late: 0,
      alerts: alertsAt.includes(i) ? ['max-rtt'] : [] });
  });
  return text;
}

function render(inputs: [string, string][] = [['lab1', log([5], new Map([[2, 5]]))], [NASTY, log([1, 5, 6], new Map([[6, 50]]))]]): string {
  const merger = new HlogMerger();
  const maxima: IntervalMax[] = [];
  const counts: HlogReadCounts[] = [];
  const files: HlogFileSummary[] = [];
  for (const [target, text] of inputs) {
    const read = parseHlogText(text, { fromMs: null, toMs: null, tags: null }, `${target}.hlog`, target);
    for (const interval of read.intervals) {
      merger.add(interval);
      maxima.push({ target, startMs: interval.startMs, lengthMs: interval.lengthMs, maxNs: interval.maxNs });
    }
    counts.push(...read.counts);
    files.push(read.summary);
  }
  const report = buildHlogReport(merger, { files, skippedFiles: [], unreadable: [] }, { fromMs: null, toMs: null, tags: null });
  return renderReportHtml({ report, rtt: merger.all().filter((s) => s.tag === 'rtt'), maxima, counts });
}

/** The <svg> whose aria-label is this. */
function plot(html: string, label: string): string {
  const start = html.indexOf(`aria-label="${label}"`);
  expect(start).toBeGreaterThan(0);
  return html.slice(start, html.indexOf('</svg>', start));
}

describe('renderReportHtml', () => {
  const html = render();

  it('has the three plots and a summary table per target', () => {
    for (const label of ['RTT percentile distribution', 'Max RTT over time', 'Loss over time']) expect(html).toContain(`aria-label="${label}"`);
    expect(html).toContain('<h2>Target lab1</h2>');
    expect(html.match(/<th>rtt<\/th>/g)).toHaveLength(2);
    expect(html).toContain('worst 9000.0 µs'); // the worst case, labelled on the percentile plot
  });

  it('puts one red alert marker on each interval that fired an alert, on the max plot', () => {
    expect(html.match(/class="alert-marker"/g)).toHaveLength(1 + 3);
    expect(plot(html, 'Max RTT over time').match(/class="alert-marker"/g)).toHaveLength(4);
    expect(html).toContain('stroke="#e00000"');
  });

  it('plots a loss point per interval with counts, the line broken at the restart, the gap shaded', () => {
    const loss = plot(html, 'Loss over time');
    expect(loss.match(/<circle class="series series-\d"/g)).toHaveLength(7 + 7);
    expect(loss.match(/<polyline class="series series-0"/g)).toHaveLength(2);
    expect(loss).toContain('class="gap"');
    expect(loss).toContain('>50%<'); // the axis reaches the worst loss
    const max = plot(html, 'Max RTT over time');
    expect(max.match(/<polyline class="series series-0"/g)).toHaveLength(2);
    expect(max).toMatch(/<rect class="gap" x="[\d.]+" y="36" width="[\d.]+"/);
  });

  it('escapes every name from the files, and loads nothing from outside', () => {
    expect(html).not.toContain(NASTY);
    expect(html).not.toContain('<b>');
    expect(html).toContain('&#60;b&#62;&#38;&#34;x&#39;');
    expect(html).not.toMatch(/<script|<link|<img|<iframe|\ssrc=|\shref=|url\(|@import|http/i);
  });

  it('plots the guest timer max per interval under the RTT max, on the same time axis, only when the logs have tag timer', () => {
    expect(html).not.toContain('Guest timer max over time');
    const merger = new HlogMerger();
    const read = parseHlogText(log([], new Map()), undefined, 'a.hlog', 'a');
    for (const interval of read.intervals) merger.add(interval);
    const report = buildHlogReport(merger, { files: [read.summary], skippedFiles: [], unreadable: [] }, { fromMs: null, toMs: null, tags: null });
    const maxima = read.intervals.map((i) => ({ target: 'a', startMs: i.startMs, lengthMs: i.lengthMs, maxNs: i.maxNs }));
    const timerMaxima = maxima.map((m, i) => ({ ...m, maxNs: i === 2 ? 4_000_000 : 50_000 }));
    const page = renderReportHtml({ report, rtt: merger.all(), maxima, timerMaxima, counts: read.counts });
    const rttPlot = plot(page, 'Max RTT over time');
    const timerPlot = plot(page, 'Guest timer max over time');
    expect(page.indexOf('aria-label="Guest timer max over time"')).toBeGreaterThan(page.indexOf('aria-label="Max RTT over time"'));
    expect(timerPlot.match(/<circle class="series series-0"/g)).toHaveLength(7);
    expect(timerPlot).toContain('timer wake-up latency (log scale)');
    // same time axis: the same x ticks, at the same places
    const ticks = (svg: string): string[] => [...svg.matchAll(/<text x="[\d.]+" y="[\d.]+" text-anchor="middle">[^<]*</g)].map((m) => m[0]);
    expect(ticks(timerPlot).length).toBeGreaterThan(2);
    expect(ticks(timerPlot)).toEqual(ticks(rttPlot));
  });

  it('draws the loss plot when nothing was lost (the normal case): an axis from 0%, points on it, no NaN', () => {
    const page = render([['calm', log([], new Map())]]);
    expect(page).not.toMatch(/NaN|Infinity/);
    const loss = plot(page, 'Loss over time');
    expect(loss).toContain('>0%<');
    expect(loss).toContain('>1%<');
    // every point sits on the 0% line, the bottom of the frame (360 − 52)
    const dots = [...loss.matchAll(/<circle class="series series-0" cx="[\d.]+" cy="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(dots).toHaveLength(7);
    for (const cy of dots) expect(cy).toBe(308);
  });

  it('labels each worst case in the legend above the frame, not over the lines', () => {
    const percentile = plot(html, 'RTT percentile distribution');
    const labels = [...percentile.matchAll(/<text class="worst-label" x="[\d.]+" y="([\d.]+)">/g)].map((m) => Number(m[1]));
    expect(labels).toHaveLength(2);
    for (const y of labels) expect(y).toBeLessThan(36); // the frame starts at y = 36
  });

  it('writes each column of the summary table in one unit, and "= max" where the samples cannot resolve a percentile', () => {
    const table = html.slice(html.indexOf('<h2>Target lab1</h2>'), html.indexOf('<h2>RTT percentile distribution</h2>'));
    // lab1's rtt reaches 9 ms: every value in µs, none in ms
    expect(table).not.toMatch(/ ms</);
    expect(table).toContain('9000.0 µs');
    expect(table).toMatch(/<td>p99<\/td><td class="num unresolved" title="21 samples: p99 needs at least 100 to differ from the max; it is the max here">= max<\/td>/);
    expect(table).toMatch(/<td>p90<\/td><td class="num">[\d.]+ µs<\/td>/);
  });

  it('says so when the logs hold no counts lines', () => {
    const merger = new HlogMerger();
    const read = parseHlogText(log([], new Map()).split('\n').filter((l) => !l.startsWith('#[rtprobe')).join('\n'), undefined, 'a.hlog', 'a');
    for (const interval of read.intervals) merger.add(interval);
    const report = buildHlogReport(merger, { files: [read.summary], skippedFiles: [], unreadable: [] }, { fromMs: null, toMs: null, tags: null });
    const page = renderReportHtml({ report, rtt: merger.all(), maxima: [], counts: [] });
    expect(page).toContain('loss unknown');
    expect(page).toContain('no counts lines');
    expect(page).not.toContain('class="alert-marker"');
  });
});
