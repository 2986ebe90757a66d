import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHgrm } from '../../controller/report/hgrm.js';
import { LatencyHistogram, PERCENTILE_KEYS } from '../../shared/histogram/latency-histogram.js';
import type { HlogReport } from '../../controller/hlog/hlog-report.js';
import { FIXTURE_DIR, FIXTURE_STARTS_MS, fixtureValues } from '../fixtures/hlog/make-fixtures.js';
import { CLI_PATH, runCli, startAgent, type RunningAgent } from '../helpers/cli.js';
import { skipNote } from '../helpers/skip.js';
import { waitFor } from '../helpers/wait-for.js';

let out: string;
beforeAll(() => { out = mkdtempSync(join(tmpdir(), 'report-cli-')); });
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** What the fixture generator recorded for a target and tag over some intervals. */
function expected(target: string, tag: string, intervals = FIXTURE_STARTS_MS.map((_, i) => i)): LatencyHistogram {
  const histogram = new LatencyHistogram();
  for (const i of intervals) for (const value of fixtureValues(target, tag, i)) histogram.record(value);
  return histogram;
}

async function json(args: string[]): Promise<HlogReport> {
  const result = await runCli(['report', FIXTURE_DIR, '--json', ...args]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as HlogReport;
}

describe('rtprobe report on the fixture logs', () => {
  it('prints per target and tag, the restart, and every malformed line with its number (exit 0)', async () => {
    const result = await runCli(['report', FIXTURE_DIR]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^rtprobe report: 2 files, all times, all tags\n/);
    expect(result.stdout).toMatch(/target lab1: 2024-05-01T10:00:00.000Z .. 2024-05-01T10:02:00.000Z\n\s+rtt\s+turnaround\s+send_error\n/);
    expect(result.stdout).toContain('    restart   2024-05-01T10:00:30.000Z .. 2024-05-01T10:01:30.000Z (60.000 s)');
    expect(result.stdout).toContain('    no data   2024-05-01T10:00:30.000Z .. 2024-05-01T10:01:30.000Z (60.000 s)'); // lab2: no restart recorded
    expect(result.stdout).toContain('malformed bad-number 1, bad-payload 1, torn-line 1\n');
    expect(result.stdout).toContain('  lab1-2024-05-01.hlog:26 torn-line: 26 bytes without a newline at the end\n');
  });

  it('--json: the merged percentiles of every value written, per target and tag', async () => {
    const report = await json([]);
    expect(report.series.map((s) => `${s.target}/${s.tag}/${s.intervals}`)).toEqual(
      ['lab1/rtt/6', 'lab1/turnaround/6', 'lab1/send_error/6', 'lab2/rtt/6']);
    for (const series of report.series) {
      const whole = expected(series.target, series.tag);
      const max = whole.maxNs; // the lines carry the exact max (ns)
      expect(series.values_ns.count).toBe(whole.count);
      expect(series.values_ns.max).toBe(max);
      for (const [key, p] of PERCENTILE_KEYS) expect(series.values_ns[key]).toBe(Math.min(whole.histogram.getValueAtPercentile(p), max));
    }
    expect(report.gaps_recorded.map((g) => [g.target, g.span_s])).toEqual([['lab1', 60]]);
    expect(report.holes.map((h) => [h.target, h.from, h.to])).toEqual([
      ['lab1', '2024-05-01T10:00:30.000Z', '2024-05-01T10:01:30.000Z'], ['lab2', '2024-05-01T10:00:30.000Z', '2024-05-01T10:01:30.000Z']]);
    expect(report.malformed).toEqual({ 'bad-header': 0, 'bad-tag': 0, 'bad-number': 1, 'bad-payload': 1, 'torn-line': 1, 'bad-counts': 0 });
    expect(report.problems.map((p) => [p.line, p.reason])).toEqual([[24, 'bad-number'], [25, 'bad-payload'], [26, 'torn-line']]);
  });

  it('--from/--to/--tag/--target select intervals by start time, tag and file', async () => {
    const report = await json(['--from', '2024-05-01T10:00:10Z', '--to', '1714557700', '--tag', 'rtt', '--target', 'lab1']);
    expect(report.series).toHaveLength(1);
    expect(report.series[0]?.values_ns.count).toBe(expected('lab1', 'rtt', [1, 2, 3]).count);
    expect(report.skipped_files.map((f) => f.reason)).toEqual(['another target']);
    expect(report).toMatchObject({ from: '2024-05-01T10:00:10.000Z', to: '2024-05-01T10:01:40.000Z', tags: ['rtt'] });
  });

  it('--hgrm DIR: the percentile distribution in µs, DIR/TARGET-TAG.hgrm per series, DIR created, each path printed', async () => {
    const dir = join(out, 'hgrm', 'new');
    const single = await runCli(['report', FIXTURE_DIR, '--tag', 'rtt', '--target', 'lab1', '--hgrm', dir]);
    expect(single.code, single.stderr).toBe(0);
    expect(single.stderr).toBe(`rtprobe report: wrote ${join(dir, 'lab1-rtt.hgrm')}\n`);
    const hgrm = parseHgrm(readFileSync(join(dir, 'lab1-rtt.hgrm'), 'utf8'));
    if (hgrm instanceof Error) throw hgrm;
    const whole = expected('lab1', 'rtt');
    expect(hgrm.totalCount).toBe(1200);
    expect(hgrm.max).toBeCloseTo(whole.histogram.getValueAtPercentile(100) / 1000, 3);
    expect(hgrm.rows.at(-1)?.percentile).toBe(1);

    const many = join(out, 'all');
    expect((await runCli(['report', FIXTURE_DIR, '--hgrm', many])).code).toBe(0);
    expect(readdirSync(many).sort()).toEqual(['lab1-rtt.hgrm', 'lab1-send_error.hgrm', 'lab1-turnaround.hgrm', 'lab2-rtt.hgrm']);
  });

  it('--cyclictest DIR: one cyclictest -h file per series, every sample in a row or an overflow', async () => {
    const dir = join(out, 'cyclictest');
    mkdirSync(dir);
    expect((await runCli(['report', FIXTURE_DIR, '--target', 'lab1', '--cyclictest', dir])).code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['lab1-rtt.cyclictest', 'lab1-send_error.cyclictest', 'lab1-turnaround.cyclictest']);
    const text = readFileSync(join(dir, 'lab1-rtt.cyclictest'), 'utf8');
    const rows = text.split('\n').filter((line) => /^\d{6} \d+$/.test(line));
    expect(rows).toHaveLength(1701); // 0..1700 µs
    expect(rows.reduce((sum, row) => sum + Number(row.split(' ')[1]), 0)).toBe(1200);
    expect(text).toContain('# Total: 000001200\n# Min Latencies: 00060\n');
    expect(text).toContain('# Max Latencies: 01700\n# Histogram Overflows: 00000\n');
  });
});

describe('rtprobe report on bad input', () => {
  it.each([
    [['report'], /name an \.hlog file or a directory of them/],
    [['report', '/nonexistent/x.hlog'], /\/nonexistent\/x\.hlog: no such file or directory \(ENOENT\)/],
    [['report', FIXTURE_DIR, '--from', 'yesterday'], /--from: 'yesterday' is not a time/],
    [['report', FIXTURE_DIR, '--from', '2024-05-01T11:00Z', '--to', '2024-05-01T10:00Z'], /--to must be after --from/],
    [['report', FIXTURE_DIR, '--tag', 'ipdv'], /no interval selected: 0 outside the time range, 25 of other tags \(the files hold: rtt, send_error, turnaround\)/],
    [['report', FIXTURE_DIR, '--from', '2025-01-01'], /no interval selected: \d+ outside the time range/],
    [['report', FIXTURE_DIR, '--bogus'], /Unknown option '--bogus'/],
  ])('%j exits 2 saying why', async (args, message) => {
    const result = await runCli(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });

  it('an empty directory, or only non-log files: exit 2', async () => {
    const empty = join(out, 'empty');
    mkdirSync(empty);
    writeFileSync(join(empty, 'notes.txt'), '');
    const result = await runCli(['report', empty]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/empty: no \.hlog files in this directory/);
  });

  it('a log of nothing but malformed lines: exit 2 with the counts', async () => {
    const junk = join(out, 'junk.hlog');
    writeFileSync(junk, '#[Histogram log format version 1.3]\nTag=rtt,1,2\nTag=r t,0,1,2,HIST\n');
    const result = await runCli(['report', junk]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/no interval selected: .* 2 malformed lines/);
  });

  it('an output path that cannot be written: exit 2 before any log is read', async () => {
    const file = join(out, 'a-file');
    writeFileSync(file, 'x');
    const hgrm = await runCli(['report', FIXTURE_DIR, '--hgrm', join(file, 'dir')]);
    expect(hgrm.code).toBe(2);
    expect(hgrm.stdout).toBe('');
    expect(hgrm.stderr).toMatch(/^rtprobe report: --hgrm: cannot create the directory '.*a-file\/dir' \(ENOTDIR\)/);
    const json = await runCli(['report', FIXTURE_DIR, '--json', '/nonexistent-18/r.json']);
    expect(json.code).toBe(2);
    expect(json.stderr).toMatch(/--json: the directory '\/nonexistent-18' does not exist/);
    const html = await runCli(['report', FIXTURE_DIR, '--html', out]);
    expect(html.code).toBe(2);
    expect(html.stderr).toMatch(/--html: '.*' is a directory/);
  });

  it('--json FILE: the JSON to FILE and the text to standard output; per target the run JSON\'s names', async () => {
    const file = join(out, 'report.json');
    const result = await runCli(['report', FIXTURE_DIR, '--json', file]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('target lab1');
    const report = JSON.parse(readFileSync(file, 'utf8')) as HlogReport;
    expect(report.targets.map((t) => t.name).sort()).toEqual(['lab1', 'lab2']);
    const lab1 = report.targets.find((t) => t.name === 'lab1');
    const series = report.series.find((s) => s.target === 'lab1' && s.tag === 'turnaround');
    expect(Object.keys(lab1 ?? {}).sort()).toEqual(['first', 'last', 'name', 'rtt_ns', 'send_error_ns', 'turnaround_ns']);
    expect(lab1?.turnaround_ns).toEqual(series?.values_ns);
    // the same percentile keys as rtprobe run's rtt_ns
    expect(Object.keys(lab1?.rtt_ns ?? {}).sort()).toEqual(['count', 'max', 'mean', 'min', 'p50', 'p90', 'p99', 'p99_9', 'p99_99', 'p99_999']);
    const dash = await runCli(['report', FIXTURE_DIR, '--json', '-']);
    expect(JSON.parse(dash.stdout)).toEqual(report);
  });

  it('--help', async () => {
    const result = await runCli(['report', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: rtprobe report FILE\|DIR/);
  });
});

const JAR = '/usr/share/java/hdrhistogram.jar';
const javaMissing = spawnSync('java', ['-version']).error ? 'no java on PATH' : existsSync(JAR) ? null : `no ${JAR}`;

describe('rtprobe report --html on a real soak log (counts lines, alerts)', () => {
  let logs: string;
  let agent: RunningAgent | null = null;

  beforeAll(async () => {
    logs = join(out, 'soak-logs');
    // ICMP to loopback when root (raw sockets), else a UDP agent
    const root = process.getuid?.() === 0;
    agent = root ? null : await startAgent();
    const target = agent ? `lo=127.0.0.1:${agent.port}` : 'lo=icmp://127.0.0.1';
    const child = spawn(process.execPath, [CLI_PATH, 'soak', '--target', target, '--interval', '1s', '--hlog', logs,
      '--alert-max', '1ns', '--quiet'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    const closed = new Promise((resolve) => child.on('close', resolve));
    // three closed intervals, each with its counts line
    const countsLines = (): number => {
      const file = existsSync(logs) ? readdirSync(logs).find((n) => n.endsWith('.hlog')) : undefined;
      return file ? readFileSync(join(logs, file), 'utf8').split('\n').filter((l) => l.startsWith('#[rtprobe-interval:')).length : 0;
    };
    try {
      await waitFor(() => countsLines() >= 3, {
        what: () => `3 counts lines in ${logs} (${countsLines()} so far; the soak said: ${stderr || 'nothing'})`, timeoutMs: 30_000, everyMs: 250,
      });
    } finally {
      child.kill('SIGINT');
      await closed;
    }
  }, 40_000);
  afterAll(async () => { await agent?.stop(); });

  it('writes one counts line per interval after its tag lines, every interval alerted (--alert-max 1ns)', () => {
    const file = join(logs, readdirSync(logs).find((n) => n.endsWith('.hlog')) ?? '');
    const lines = readFileSync(file, 'utf8').split('\n');
    const counts = lines.filter((l) => l.startsWith('#[rtprobe-interval:'));
    expect(counts.length).toBe(lines.filter((l) => l.startsWith('Tag=rtt,')).length);
    for (const line of counts) expect(line).toMatch(/^#\[rtprobe-interval: start=\d+\.\d{3} length=\d+\.\d{3} sent=\d+ received=\d+ lost=\d+ late=\d+ alerts=(max-rtt|-)\]$/);
    expect(counts.filter((l) => l.endsWith('alerts=max-rtt]')).length).toBeGreaterThanOrEqual(1);
    // the counts line follows its interval's tag lines
    const firstCounts = lines.findIndex((l) => l.startsWith('#[rtprobe-interval:'));
    expect(lines[firstCounts - 1]).toMatch(/^Tag=/);
  });

  it('--html F: exit 0, the three plots, an alert marker per alerted interval; the text report still printed', async () => {
    const html = join(out, 'soak.html');
    const result = await runCli(['report', logs, '--html', html]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    // the soak that wrote the logs first (its rtprobe-provenance.json), then the summary
    expect(result.stdout).toMatch(/^written by soak 1 of 1:\n {2}rtprobe .*\n[\s\S]*^rtprobe report: 1 file/m);
    expect(result.stdout).toContain('malformed none');
    const page = readFileSync(html, 'utf8');
    for (const label of ['RTT percentile distribution', 'Max RTT over time', 'Loss over time']) expect(page).toContain(`aria-label="${label}"`);
    const file = join(logs, readdirSync(logs).find((n) => n.endsWith('.hlog')) ?? '');
    const alerted = readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith('#[rtprobe-interval:') && !l.endsWith('alerts=-]')).length;
    expect(alerted).toBeGreaterThanOrEqual(1);
    expect(page.match(/class="alert-marker"/g)).toHaveLength(alerted);
    expect(page).not.toMatch(/<script|\ssrc=|\shref=|http/i);
    expect(readdirSync(out).filter((n) => n.startsWith('soak.html.tmp'))).toEqual([]);
  });

  it('--html to an unwritable path: exit 2 with the reason, checked before the logs are read', async () => {
    const result = await runCli(['report', logs, '--html', '/nonexistent-dir/r.html']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/--html: the directory '\/nonexistent-dir' does not exist \(ENOENT\)/);
  });

  it.skipIf(javaMissing !== null)(`Java's HistogramLogProcessor skips the counts lines${skipNote(javaMissing)}`, async () => {
    const file = join(logs, readdirSync(logs).find((n) => n.endsWith('.hlog')) ?? '');
    const csv = join(out, 'java.csv');
    const java = spawnSync('java', ['-cp', JAR, 'org.HdrHistogram.HistogramLogProcessor', '-i', file, '-tag', 'rtt', '-csv',
      '-outputValueUnitRatio', '1', '-o', csv], { encoding: 'utf8', timeout: 30_000 });
    expect(java.status, java.stderr).toBe(0);
    const rows = readFileSync(csv, 'utf8').split('\n').filter((line) => /^\d/.test(line));
    const rttLines = readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith('Tag=rtt,')).length;
    expect(rows.length).toBe(rttLines);
    const ours = JSON.parse((await runCli(['report', file, '--tag', 'rtt', '--json'])).stdout) as HlogReport;
    expect(Number(rows.at(-1)?.split(',')[5])).toBe(ours.series[0]?.values_ns.count);
  });
});
