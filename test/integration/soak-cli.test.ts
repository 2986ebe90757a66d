import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI_PATH, freeUdpPort, startAgent } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'rtprobe-soak-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `rtprobe soak ARGS` for `ms`, then SIGINT; resolves with its output. */
function soakFor(args: string[], ms: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI_PATH, 'soak', ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    const stopper = setTimeout(() => child.kill('SIGINT'), ms);
    const killer = setTimeout(() => child.kill('SIGKILL'), ms + 20_000);
    child.on('close', (code) => {
      clearTimeout(stopper);
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('rtprobe soak (real CLI on loopback)', () => {
  it('runs until SIGINT, then reports; alerts go to the log, --events and --on-alert', async () => {
    const agent = await startAgent();
    const events = join(dir, 'events.jsonl');
    const marker = join(dir, 'on-alert.txt');
    try {
      // A 1 ns threshold: every interval with a probe breaches it.
      const result = await soakFor(['--target', `g=127.0.0.1:${agent.port}`, '--interval', '1s', '--alert-max', '1ns',
        '--events', events, '--on-alert', `echo "$RTPROBE_ALERT_KIND $RTPROBE_ALERT_TARGET $RTPROBE_ALERT_THRESHOLD" >> ${marker}`,
        '--json', '-', '--quiet'], 4500);
      expect(result.code, result.stderr).toBe(0);
      const report = JSON.parse(result.stdout);
      expect(report.targets[0].received).toBeGreaterThan(50);
      expect(report.targets[0].lost).toBe(0);
      expect(report.soak.alerts).toBeGreaterThanOrEqual(1);
      const lines = readFileSync(events, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(lines.length).toBe(report.soak.alerts);
      expect(lines[0]).toMatchObject({ type: 'alert', kind: 'max-rtt', target: 'g', threshold: 1 });
      expect(readFileSync(marker, 'utf8')).toMatch(/^max-rtt g 1$/m);
      expect(result.stderr).toMatch(/ALERT g: max RTT/);
    } finally {
      await agent.stop();
    }
  });

  it('a loss alert when a target stops answering', async () => {
    const port = await freeUdpPort();
    const result = await soakFor(['--target', `gone=127.0.0.1:${port}`, '--interval', '1s', '--alert-loss', '0.1%',
      '--loss-after', '200ms', '--timeout', '100ms', '--json', '-', '--quiet'], 3500);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/ALERT gone: loss 100\.000% > 0\.100%/);
  });

  it('--duration is refused with a pointer to run; bad thresholds name their flag', async () => {
    for (const [args, pattern] of [
      [['--target', '127.0.0.1', '--duration', '10s'], /--duration: a soak runs until stopped/],
      [['--target', '127.0.0.1', '--alert-loss', 'x'], /--alert-loss/],
      [['--target', '127.0.0.1', '--interval', '5ms'], /--interval/],
    ] as [string[], RegExp][]) {
      const result = await soakFor(args, 10_000);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(pattern);
    }
  });
});
