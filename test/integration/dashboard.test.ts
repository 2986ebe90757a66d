import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_PATH, startAgent, type RunningAgent } from '../helpers/cli.js';
import { skipNote, whySkip } from '../helpers/skip.js';
import { waitFor } from '../helpers/wait-for.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = spawnSync(CHROMIUM, ['--version']).status === 0;
const noBrowser = whySkip([!hasChromium, `needs Debian chromium (${CHROMIUM}), installed by .ci/run`]);
const hasPromtool = spawnSync('promtool', ['--version']).status === 0;

interface Soak { child: ChildProcess; url: string }

/** Starts `rtprobe soak --http 127.0.0.1:0` against an agent and waits for the dashboard line. */
function startSoak(agentPort: number, extra: string[] = [], targets = ['--target', `guest=127.0.0.1:${agentPort}`]): Promise<Soak> {
  const child = spawn(process.execPath, [CLI_PATH, 'soak', ...targets, '--interval', '1s',
    '--http', '127.0.0.1:0', '--quiet', ...extra]);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('soak did not start its dashboard')), 20_000);
    createInterface({ input: child.stderr }).on('line', (line) => {
      const match = /^dashboard (http:\/\/\S+)\//.exec(line);
      if (!match) return;
      clearTimeout(timer);
      resolve({ child, url: match[1] ?? '' });
    });
  });
}

const BROWSER_ARGS = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const CHARTS = ['chart-max', 'chart-distribution', 'chart-loss'] as const;

type Page = Awaited<ReturnType<Awaited<ReturnType<typeof import('playwright-core')['chromium']['launch']>>['newPage']>>;

/**
 * Takes a screenshot of the page and counts, inside the plot frame of each chart, the pixels
 * of the series colour (blue: b − r > 80; grid, frame, text, the orange threshold and the red
 * alert rings are not). The PNG is decoded by Chromium itself, in a blank page's canvas.
 */
async function seriesPixelsPerChart(page: Page, browserPage: Page, label: string): Promise<Record<string, number>> {
  // In one evaluation: the charts are redrawn each second (same layout), a locator could see one go.
  const boxes = await page.evaluate(`Object.fromEntries(${JSON.stringify(CHARTS)}.map((id) => {
    const r = document.querySelector('#' + id + ' svg .frame').getBoundingClientRect();
    return [id, { x: r.x + window.scrollX, y: r.y + window.scrollY, width: r.width, height: r.height }];
  }))`) as Record<string, { x: number; y: number; width: number; height: number }>;
  const png = await page.screenshot({ fullPage: true });
  writeFileSync(join(tmpdir(), `rtprobe-dashboard-${label}.png`), png);
  const counts = await browserPage.evaluate(`(async () => {
    const img = new Image();
    img.src = 'data:image/png;base64,${png.toString('base64')}';
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.width; canvas.height = img.height;
    const ctx = canvas.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const boxes = ${JSON.stringify(boxes)};
    const out = {};
    for (const [id, b] of Object.entries(boxes)) {
      const x = Math.max(0, Math.floor(b.x) - 3), y = Math.max(0, Math.floor(b.y) - 3);
      const data = ctx.getImageData(x, y, Math.ceil(b.width) + 6, Math.ceil(b.height) + 6).data;
      let n = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i + 2] - data[i] > 80) n++;
      out[id] = n;
    }
    return out;
  })()`);
  return counts as Record<string, number>;
}

/**
 * Opens the dashboard at 1280 px in headless Chromium, runs `body`, then checks that the page
 * fits the width and that every chart of the chosen target is drawn (series pixels in its frame).
 */
async function inDashboard(url: string, label: string, body: (page: Page) => Promise<void>): Promise<void> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: BROWSER_ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await page.goto(`${url}/`);
    await body(page);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(1280);
    const pixels = await seriesPixelsPerChart(page, await browser.newPage(), label);
    for (const id of CHARTS) expect(pixels[id], `${id}: ${JSON.stringify(pixels)}`).toBeGreaterThan(40);
  } finally {
    await browser.close();
  }
}

/** Waits until the selected target's loss chart has `points` interval points drawn. */
async function waitForIntervals(page: Page, points: number): Promise<void> {
  await page.waitForFunction(`document.querySelectorAll('#chart-loss circle.series').length >= ${points}`, undefined, { timeout: 30_000 });
}

describe('soak --http: metrics and the live dashboard (real soak on loopback)', () => {
  let agent: RunningAgent;
  let soak: Soak;
  const dir = mkdtempSync(join(tmpdir(), 'rtprobe-dash-'));
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, 'a-dashboard-test-token-of-enough-length\n');
  beforeAll(async () => {
    agent = await startAgent(['--ws', '127.0.0.1:0', '--token-file', tokenFile]);
    // 1 µs: every interval with a reply alerts, so the marks and the list are there to see.
    soak = await startSoak(agent.port, ['--alert-max', '1us', '--agent-ws', `guest=${agent.streamUrl}`, '--agent-token-file', tokenFile]);
  });
  afterAll(async () => {
    soak.child.kill('SIGINT');
    await agent.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('/metrics is Prometheus text with the RTT histogram and outcome counters', async () => {
    const sentIn = (metrics: string): number => Number(/^rtprobe_probes_sent_total\{[^}]*\} (\d+)$/m.exec(metrics)?.[1] ?? 0);
    let text = '';
    await waitFor(async () => {
      text = await (await fetch(`${soak.url}/metrics`)).text();
      return sentIn(text) > 50;
    }, { what: () => `more than 50 probes sent in /metrics (${sentIn(text)})`, timeoutMs: 20_000, everyMs: 100 });
    expect(text).toMatch(/^# TYPE rtprobe_rtt_seconds histogram$/m);
    // the rig's own health, per native socket (this soak's is one UDP IPv4 socket, nothing dropped)
    expect(text).toMatch(/^rtprobe_receive_buffer_drops_total\{protocol="udp",family="4"\} 0$/m);
    expect(text).toMatch(/^rtprobe_delivery_lag_max_seconds\{protocol="udp",family="4"\} [\d.e-]+$/m);
    expect(text).toMatch(/^rtprobe_rtt_seconds_bucket\{target="guest",address="127\.0\.0\.1",mode="udp",le="\+Inf"\} \d+$/m);
    expect(sentIn(text)).toBeGreaterThan(50);
    // buckets are cumulative: never decreasing
    const buckets = [...text.matchAll(/^rtprobe_rtt_seconds_bucket\{[^}]*\} (\d+)$/gm)].map((m) => Number(m[1]));
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
    if (hasPromtool) {
      const file = join(dir, 'metrics.txt');
      writeFileSync(file, text);
      const check = spawnSync('sh', ['-c', `promtool check metrics < ${file}`], { encoding: 'utf8' });
      expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
    }
  });

  it.skipIf(noBrowser !== null)(`one target: live numbers, alerts marked and listed, the threshold line, the agent stream, three non-empty charts at 1280 px (headless Chromium)${skipNote(noBrowser)}`, async () => {
    await inDashboard(soak.url, '1-target', async (page) => {
      const sent = page.locator('#summary [data-target="guest"] .sent');
      await sent.waitFor({ timeout: 10_000 });
      const first = Number(await sent.textContent());
      // Evaluated in the page (a string: the test's own tsconfig has no DOM types).
      await page.waitForFunction(`Number(document.querySelector('#summary [data-target="guest"] .sent')?.textContent) > ${first}`, undefined, { timeout: 10_000 });
      expect(Number(await sent.textContent())).toBeGreaterThan(first);
      expect(await page.locator('#summary [data-target="guest"] .p50').textContent()).toMatch(/µs|ms/);
      expect(await page.locator('#detail-title').textContent()).toMatch(/target guest .*kernel stamps/);
      expect(await page.locator('#started').textContent()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
      expect(await page.locator('#settings').textContent()).toMatch(/--alert-max1\.0 µs/);
      await waitForIntervals(page, 4);
      // alerts: marks on the max chart, rows in the list (time, kind, value), the threshold dashed
      expect(await page.locator('#chart-max .alert-marker').count()).toBeGreaterThanOrEqual(3);
      expect(await page.locator('#chart-max line.threshold').count()).toBe(1);
      const alertRow = (await page.locator('#alerts tbody tr').first().textContent()) ?? '';
      expect(alertRow).toMatch(/^\d\d:\d\d:\d\dguestmax-rtt[\d.]+ (µs[\d.]+ µs|ms0\.001 ms)$/);
      const valueUnits = (await page.locator('#alerts tbody td:nth-child(4)').allTextContents()).map((t) => t.split(' ')[1]);
      expect(new Set(valueUnits).size).toBe(1); // one unit for the column
      expect(Number(await page.locator('#alert-total').textContent())).toBeGreaterThanOrEqual(3);
      // the log y axis is labelled in time units; the x axis in UTC clock time
      expect(await page.locator('#chart-max svg').textContent()).toMatch(/max RTT per interval \(log scale\)/);
      expect(await page.locator('#chart-max svg').textContent()).toMatch(/UTC time/);
      await page.waitForFunction(`document.querySelector('#agent')?.textContent.includes('probes the agent received')`, undefined, { timeout: 15_000 });
      expect(await page.locator('#breakdown').textContent()).toMatch(/agent turnaround/);
    });
  });

  it('GET /target: the charts of one target as JSON; an unknown name is a 404', async () => {
    const detail = await (await fetch(`${soak.url}/target?name=guest`)).json() as { name: string; charts: Record<string, string> };
    expect(detail.name).toBe('guest');
    expect(Object.keys(detail.charts)).toEqual(['max_over_time', 'distribution', 'loss']);
    expect((await fetch(`${soak.url}/target?name=nobody`)).status).toBe(404);
    expect((await fetch(`${soak.url}/target`)).status).toBe(404);
  });

  it('beyond loopback the server needs a token: soak refuses to start without one', () => {
    const result = spawnSync(process.execPath, [CLI_PATH, 'soak', '--target', '127.0.0.1', '--http', '0.0.0.0:0'], { encoding: 'utf8', timeout: 20_000 });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--http-token-file/);
  });
});

describe.skipIf(noBrowser !== null)(`the dashboard with 50 targets (one agent on 0.0.0.0 answers 127.0.0.2 … 127.0.0.51)${skipNote(noBrowser)}`, () => {
  let agent: RunningAgent;
  let soak: Soak;
  const names = Array.from({ length: 50 }, (_, i) => `t${String(i + 1).padStart(2, '0')}`);
  beforeAll(async () => {
    // one agent answers every target: a session each, more than its default 16, and all from
    // one source address, more than its default share (a quarter)
    agent = await startAgent(['--max-sessions', '64', '--max-sessions-per-source', '64'], '0.0.0.0:0');
    soak = await startSoak(agent.port, ['--rate', '10'], names.flatMap((name, i) => ['--target', `${name}=127.0.0.${i + 2}:${agent.port}`]));
  });
  afterAll(async () => {
    soak.child.kill('SIGINT');
    await agent.stop();
  });

  it('a summary table of all 50, worst max first; a click shows that target\'s charts, non-empty, within 1280 px', async () => {
    await inDashboard(soak.url, '50-targets', async (page) => {
      await page.waitForFunction(`document.querySelectorAll('#summary tbody tr').length === 50 && [...document.querySelectorAll('#summary .max')].every((td) => td.textContent !== '-')`, undefined, { timeout: 30_000 });
      const toNs = (text: string): number => {
        const [value = '', unit = ''] = text.split(' ');
        return Number(value) * ({ 'µs': 1e3, ms: 1e6, s: 1e9 }[unit] ?? Number.NaN);
      };
      const maxima = (await page.locator('#summary .max').allTextContents()).map(toNs);
      expect(maxima.every(Number.isFinite)).toBe(true);
      expect(maxima).toEqual([...maxima].sort((a, b) => b - a));
      // one unit per column
      expect(new Set((await page.locator('#summary .max').allTextContents()).map((t) => t.split(' ')[1])).size).toBe(1);
      const rowOrder = `[...document.querySelectorAll('#summary tbody tr')].map((tr) => tr.dataset.target)`;
      // With the pointer over the table its rows keep their order: the page's own render, given
      // a snapshot of its /live socket with the targets reversed, leaves them where they are
      // while the pointer is there, and reverses them once it has left.
      await page.hover('#summary tbody tr:nth-child(3)');
      const rows = await page.evaluate(rowOrder) as string[];
      expect([...rows].sort()).toEqual(names);
      const renderReversed = `(async () => {
        const ws = new WebSocket('ws://' + location.host + '/live' + location.search);
        const s = await new Promise((resolve) => { ws.onmessage = (e) => { const m = JSON.parse(e.data); if (m.type === 'snapshot') { ws.close(); resolve(m); } }; });
        const reversed = [...s.targets].reverse();
        render({ ...s, targets: reversed });
        return { shown: ${rowOrder}, reversed: reversed.map((t) => t.name) };
      })()`;
      const held = await page.evaluate(renderReversed) as { shown: string[]; reversed: string[] };
      expect(held.shown).toEqual(rows);
      await page.mouse.move(1, 1);
      const released = await page.evaluate(renderReversed) as { shown: string[]; reversed: string[] };
      expect(released.shown).toEqual(released.reversed);
      await page.hover('#summary tbody tr:nth-child(3)');
      const heldRows = await page.evaluate(rowOrder) as string[];
      const pick = heldRows[17] ?? '';
      await page.locator(`#summary tr[data-target="${pick}"]`).click();
      await page.waitForFunction(`document.querySelector('#chart-distribution svg')?.textContent.includes('${pick} worst')`, undefined, { timeout: 10_000 });
      expect(await page.locator('#summary tr.selected').getAttribute('data-target')).toBe(pick);
      expect(page.url()).toContain(`#target=${pick}`);
      await waitForIntervals(page, 3);
    });
  });
});
