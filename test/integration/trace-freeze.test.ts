import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, startAgent } from '../helpers/cli.js';
import { spawn, spawnSync } from 'node:child_process';
import { CLI_PATH } from '../helpers/cli.js';
import { skipNote } from '../helpers/skip.js';
import { waitFor } from '../helpers/wait-for.js';

const dir = mkdtempSync(join(tmpdir(), 'rtprobe-trace-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));
const token = join(dir, 'token');
writeFileSync(token, 'trace-freeze-test-token-0123\n');

describe('trace freeze on breach (cyclictest -b style)', () => {
  it('a soak breach reaches the agent, which marks trace_marker once and stops tracing', async () => {
    // A directory with tracefs' two control files: the kernel's tracefs is not mountable in
    // every sandbox; the agent only ever writes these two files.
    const tracefs = join(dir, 'tracefs');
    mkdirSync(tracefs);
    writeFileSync(join(tracefs, 'trace_marker'), '');
    writeFileSync(join(tracefs, 'tracing_on'), '1\n');
    const agent = await startAgent(['--ws', '127.0.0.1:0', '--token-file', token, '--trace-on-breach', '--tracefs', tracefs]);
    try {
      const soak = spawn(process.execPath, [CLI_PATH, 'soak', '--target', `g=127.0.0.1:${agent.port}`, '--agent-ws', `${agent.streamUrl}`,
        '--agent-token-file', token, '--interval', '1s', '--alert-max', '1ns', '--quiet']);
      await waitFor(() => readFileSync(join(tracefs, 'tracing_on'), 'utf8') === '0\n', { what: 'the agent to write 0 to tracing_on', timeoutMs: 20_000, everyMs: 100 });
      soak.kill('SIGINT');
      await new Promise((resolve) => soak.on('close', resolve));
      expect(readFileSync(join(tracefs, 'tracing_on'), 'utf8')).toBe('0\n');
      expect(readFileSync(join(tracefs, 'trace_marker'), 'utf8')).toMatch(/^rtprobe breach session=\d+ seq=\d+ rtt_ns=\d+\n$/);
    } finally {
      const ended = await agent.stop();
      expect(ended.stderr).toMatch(/trace marked and stopped/);
    }
  });

  it('tracefs missing or not given a stream: a clear error, exit 2', async () => {
    const missing = await runCli(['agent', '--listen', '127.0.0.1:0', '--ws', '127.0.0.1:0', '--token-file', token,
      '--trace-on-breach', '--tracefs', join(dir, 'nope')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/tracefs is not mounted at .*nope/);
    const noStream = await runCli(['agent', '--listen', '127.0.0.1:0', '--trace-on-breach']);
    expect(noStream.code).toBe(2);
    expect(noStream.stderr).toMatch(/--trace-on-breach: breaches arrive over the stream/);
  });
});

/** The real tracefs, mounted if root can (a pseudo file system; nothing persists), or why there is none. */
function realTracefs(): string | { skip: string } {
  if (process.getuid?.() !== 0) return { skip: 'mounting tracefs needs root' };
  const tracing = '/sys/kernel/tracing';
  if (!existsSync(join(tracing, 'trace_marker'))) {
    const mounted = spawnSync('mount', ['-t', 'tracefs', 'nodev', tracing]);
    if (mounted.status !== 0 || !existsSync(join(tracing, 'trace_marker'))) return { skip: `tracefs cannot be mounted on ${tracing} here` };
  }
  return tracing;
}

const found = realTracefs();
const kernelTracefs = typeof found === 'string' ? found : null;
const noTracefs = typeof found === 'string' ? null : found.skip;

describe.skipIf(noTracefs !== null)(`with the kernel's tracefs (root; skipped where tracefs cannot be mounted)${skipNote(noTracefs)}`, () => {
  it('the marker lands in the kernel trace and tracing stops', async () => {
    const tracing = kernelTracefs ?? '';
    writeFileSync(join(tracing, 'tracing_on'), '1\n');
    const agent = await startAgent(['--ws', '127.0.0.1:0', '--token-file', token, '--trace-on-breach']);
    try {
      const soak = spawn(process.execPath, [CLI_PATH, 'soak', '--target', `g=127.0.0.1:${agent.port}`, '--agent-ws', `${agent.streamUrl}`,
        '--agent-token-file', token, '--interval', '1s', '--alert-max', '1ns', '--quiet']);
      await waitFor(() => readFileSync(join(tracing, 'tracing_on'), 'utf8').trim() === '0', { what: 'tracing to stop (tracing_on 0)', timeoutMs: 20_000, everyMs: 100 });
      soak.kill('SIGINT');
      await new Promise((resolve) => soak.on('close', resolve));
      expect(readFileSync(join(tracing, 'tracing_on'), 'utf8').trim()).toBe('0');
      expect(readFileSync(join(tracing, 'trace'), 'utf8')).toMatch(/rtprobe breach session=\d+ seq=\d+ rtt_ns=\d+/);
    } finally {
      writeFileSync(join(tracing, 'tracing_on'), '1\n');
      await agent.stop();
    }
  });
});
