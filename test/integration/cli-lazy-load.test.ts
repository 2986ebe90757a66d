import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const HOOK = fileURLToPath(new URL('../helpers/module-trace-hook.mjs', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Our own .ts modules that `rtprobe ARGS` loads, as paths from the repository root. Run from
 * the sources (RTPROBE_FROM_SOURCE=1): the launcher's cached bundle splits into the same
 * lazily loaded chunks, but only the sources show which modules a command pulls in.
 */
async function modulesLoadedBy(args: string[]): Promise<string[]> {
  const result = await runCli(args, { env: { NODE_OPTIONS: `--import ${HOOK}`, RTPROBE_FROM_SOURCE: '1' } });
  expect(result.code, result.stderr).toBe(0);
  return [...result.stderr.matchAll(/^module-loaded file:\/\/(\S+\.ts)$/gm)]
    .map((match) => (match[1] ?? '').replace(ROOT, ''));
}

describe('commands load lazily', () => {
  it('rtprobe agent loads only agent/ and shared/ modules (no controller, soak, hlog, dashboard or load code)', async () => {
    const modules = await modulesLoadedBy(['agent', '--help']);
    expect(modules).toContain('agent/agent-command.ts');
    expect(modules).toContain('agent/stats-stream.ts');
    expect(modules.filter((m) => !m.startsWith('agent/') && !m.startsWith('shared/'))).toEqual([]);
  });

  it('rtprobe run loads the run engine but not soak, hlog, load or lab code', async () => {
    const modules = await modulesLoadedBy(['run', '--help']);
    expect(modules).toContain('controller/engine/run-controller.ts');
    expect(modules.filter((m) => /^controller\/(soak|hlog|load|lab)\//.test(m))).toEqual([]);
  });

  it('rtprobe report loads the hlog tools but not the run engine', async () => {
    const modules = await modulesLoadedBy(['report', '--help']);
    expect(modules).toContain('controller/hlog/hlog-reader.ts');
    expect(modules.filter((m) => /^controller\/(engine|transport|agent-stream)\//.test(m))).toEqual([]);
  });
});
