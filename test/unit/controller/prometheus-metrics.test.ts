import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RTPROBE_VERSION } from '../../../shared/cli/build-info.js';
import { formatPrometheusMetrics } from '../../../controller/soak/prometheus-metrics.js';
import { makeStats } from './run-fixture.js';
import { skipNote, whySkip } from '../../helpers/skip.js';

const dir = mkdtempSync(join(tmpdir(), 'rtprobe-metrics-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DASHBOARD_PATH = new URL('../../../controller/soak/grafana-dashboard.json', import.meta.url);
const promtoolMissing = whySkip([spawnSync('sh', ['-c', 'command -v promtool']).status !== 0, 'needs promtool (Debian prometheus)']);

/** A soak's targets with some RTTs recorded, run-wide and in the current interval. */
function soakTargets(): ReturnType<typeof makeStats> {
  const stats = makeStats();
  for (const rtt of [100_000, 250_000, 3_000_000]) {
    stats[0]?.rtt.record(rtt);
    stats[0]?.interval.histograms.rtt.record(rtt);
  }
  return stats;
}

const gauge = (text: string, target: string): string | undefined =>
  new RegExp(`^rtprobe_interval_rtt_max_seconds\\{target="${target}"[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1];

describe('Prometheus metrics of a soak', () => {
  it('rtprobe_build_info and rtprobe_alerts_total{kind}, every kind present', () => {
    const text = formatPrometheusMetrics(soakTargets(), { alertsByKind: { 'max-rtt': 3, loss: 0 } });
    expect(text).toContain(`rtprobe_build_info{version="${RTPROBE_VERSION}",node="${process.version}"} 1\n`);
    expect(text).toContain('# TYPE rtprobe_alerts_total counter\n');
    expect(text).toContain('rtprobe_alerts_total{kind="max-rtt"} 3\n');
    expect(text).toContain('rtprobe_alerts_total{kind="loss"} 0\n');
  });

  it("each native socket's self-report: receive-buffer drops (counter), JavaScript's delivery lag (gauge, seconds) and the thread's backlog pauses (counter, seconds)", () => {
    const text = formatPrometheusMetrics(soakTargets(), { alertsByKind: {}, sockets: [
      { protocol: 'udp', family: 4, receive_buffer_drops: 51_292, max_delivery_lag_ms: 12_498.46, backlog_paused_ms: 3_250.5 },
      { protocol: 'icmp', family: 6, receive_buffer_drops: 0, max_delivery_lag_ms: 0.2, backlog_paused_ms: 0 },
    ] });
    expect(text).toContain('# TYPE rtprobe_receive_buffer_drops_total counter\n');
    expect(text).toContain('rtprobe_receive_buffer_drops_total{protocol="udp",family="4"} 51292\n');
    expect(text).toContain('rtprobe_receive_buffer_drops_total{protocol="icmp",family="6"} 0\n');
    expect(text).toContain('# TYPE rtprobe_delivery_lag_max_seconds gauge\n');
    expect(text).toContain('rtprobe_delivery_lag_max_seconds{protocol="udp",family="4"} 12.49846\n');
    expect(text).toContain('rtprobe_delivery_lag_max_seconds{protocol="icmp",family="6"} 0.0002\n');
    expect(text).toContain('# TYPE rtprobe_backlog_paused_seconds_total counter\n');
    expect(text).toContain('rtprobe_backlog_paused_seconds_total{protocol="udp",family="4"} 3.2505\n');
    expect(text).toContain('rtprobe_backlog_paused_seconds_total{protocol="icmp",family="6"} 0\n');
  });

  it('the interval max keeps the last completed interval\'s spike after it closes, until a later one closes', () => {
    const stats = soakTargets();
    const [a] = stats;
    if (!a) throw new Error('no target');
    expect(gauge(formatPrometheusMetrics(stats), 'guest-a')).toBe('0.003');
    expect(gauge(formatPrometheusMetrics(stats), 'guest-b')).toBe('NaN');
    a.interval.close(10_000, { sent: 3, received: 3, lost: 0, late: 0 }, () => {});
    // a scrape right after the close: the current interval is empty, the spike is still there
    expect(gauge(formatPrometheusMetrics(stats), 'guest-a')).toBe('0.003');
    a.interval.histograms.rtt.record(200_000);
    expect(gauge(formatPrometheusMetrics(stats), 'guest-a')).toBe('0.003');
    a.interval.close(20_000, { sent: 4, received: 4, lost: 0, late: 0 }, () => {});
    expect(gauge(formatPrometheusMetrics(stats), 'guest-a')).toBe('0.0002');
  });

  it.skipIf(promtoolMissing !== null)(`promtool accepts the exposition${skipNote(promtoolMissing)}`, () => {
    const file = join(dir, 'metrics.txt');
    writeFileSync(file, formatPrometheusMetrics(soakTargets(), { alertsByKind: { 'max-rtt': 1, loss: 2 } }));
    const check = spawnSync('sh', ['-c', `promtool check metrics < ${file}`], { encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
  });
});

interface Panel { title: string; targets?: { expr: string }[] }

describe('the Grafana dashboard beside the metrics code', () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD_PATH, 'utf8')) as {
    uid: string; panels: Panel[]; templating: { list: { query: unknown }[] }; annotations: { list: { expr: string }[] };
  };
  const exprs = [
    ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
    ...dashboard.annotations.list.map((a) => a.expr),
    ...dashboard.templating.list.map((v) => JSON.stringify(v.query)),
  ];

  it('parses, and references only metrics rtprobe exposes (histogram series by their suffixes)', () => {
    const text = formatPrometheusMetrics(soakTargets(), { alertsByKind: { 'max-rtt': 0, loss: 0 } });
    const families = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(([, name, type]) =>
      (type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name ?? '']));
    const used = new Set(exprs.flatMap((e) => e.match(/\brtprobe_[a-z_]+\b/g) ?? []));
    expect([...used].filter((name) => !families.includes(name))).toEqual([]);
    for (const wanted of ['rtprobe_interval_rtt_max_seconds', 'rtprobe_alerts_total', 'rtprobe_build_info', 'rtprobe_rtt_seconds_bucket']) {
      expect(used, wanted).toContain(wanted);
    }
  });

  it.skipIf(promtoolMissing !== null)(`every query is valid PromQL (promtool check rules, Grafana's variables filled in)${skipNote(promtoolMissing)}`, () => {
    const queries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)).concat(dashboard.annotations.list.map((a) => a.expr));
    const rules = { groups: [{ name: 'dashboard', rules: queries.map((expr, i) => ({
      record: `rtprobe:dashboard_query_${i}`, expr: expr.replaceAll('$__rate_interval', '1m').replaceAll('$target', '.*'),
    })) }] };
    const file = join(dir, 'rules.yml');
    writeFileSync(file, JSON.stringify(rules)); // JSON is YAML
    const check = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
  });
});
