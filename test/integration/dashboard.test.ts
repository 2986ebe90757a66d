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
function startSoak(agentPort: number, extra: string[] = []): Promise<Soak> {
  const child = spawn(process.execPath, [CLI_PATH, 'soak', '--target', `guest=127.0.0.1:${agentPort}`, '--interval', '1s',
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

describe('soak --http: metrics and the live dashboard (real soak on loopback)', () => {
  let agent: RunningAgent;
  let soak: Soak;
  const dir = mkdtempSync(join(tmpdir(), 'rtprobe-dash-'));
  beforeAll(async () => {
    agent = await startAgent();
    soak = await startSoak(agent.port);
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

  it.skipIf(noBrowser !== null)(`the page shows live numbers that change while the soak runs (headless Chromium)${skipNote(noBrowser)}`, async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage();
      await page.goto(`${soak.url}/`);
      const sent = page.locator('[data-target="guest"] .sent');
      await sent.waitFor({ timeout: 10_000 });
      const first = Number(await sent.textContent());
      // Evaluated in the page (a string: the test's own tsconfig has no DOM types).
      await page.waitForFunction(`Number(document.querySelector('[data-target="guest"] .sent')?.textContent) > ${first}`, undefined, { timeout: 10_000 });
      const second = Number(await sent.textContent());
      expect(second).toBeGreaterThan(first);
      expect(await page.locator('[data-target="guest"] .p50').textContent()).toMatch(/µs|ms/);
      expect(await page.locator('[data-target="guest"]').textContent()).toMatch(/kernel stamps/);
      await page.screenshot({ path: join(tmpdir(), 'rtprobe-dashboard.png') });
    } finally {
      await browser.close();
    }
  });

  it('beyond loopback the server needs a token: soak refuses to start without one', () => {
    const result = spawnSync(process.execPath, [CLI_PATH, 'soak', '--target', '127.0.0.1', '--http', '0.0.0.0:0'], { encoding: 'utf8', timeout: 20_000 });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--http-token-file/);
  });
});
