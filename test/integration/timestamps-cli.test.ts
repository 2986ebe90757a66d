import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI_PATH, runCli, startAgent } from '../helpers/cli.js';
import { skipNote, whySkip } from '../helpers/skip.js';

const isRoot = process.getuid?.() === 0;
const hasSetpriv = spawnSync('setpriv', ['--version']).status === 0;
const asNobodyReason = whySkip([!isRoot, 'needs root (to become uid 65534)'], [!hasSetpriv, 'needs setpriv (util-linux)']);

describe('timestamp sources and the fallback (real CLI on loopback)', () => {
  it('kernel stamps by default, and every report names them', async () => {
    const agent = await startAgent();
    try {
      const result = await runCli(['run', '--target', `127.0.0.1:${agent.port}`, '--count', '30', '--rate', '100', '--json', '-']);
      expect(result.code, result.stderr).toBe(0);
      const target = JSON.parse(result.stdout).targets[0];
      expect(target.timestamps).toMatchObject({ tx: 'kernel', rx: 'kernel', agent_t2: 'kernel', user_fallback_rtts: 0 });
      expect(target.timestamps.rtt_clock).toMatch(/SO_TIMESTAMPING/);
      expect(result.stderr).toMatch(/RTT: kernel TX\/kernel RX stamps/);
    } finally {
      await agent.stop();
    }
  });

  it('RTPROBE_NO_ADDON=1: one warning line saying why, then user-space stamps on both sides', async () => {
    const env = { RTPROBE_NO_ADDON: '1' };
    const agent = await startAgent([], '127.0.0.1:0', env);
    try {
      const result = await runCli(['run', '--target', `127.0.0.1:${agent.port}`, '--count', '30', '--rate', '100', '--json', '-', '--quiet'], { env });
      expect(result.code, result.stderr).toBe(0);
      const warnings = result.stderr.split('\n').filter((line) => /warning/.test(line));
      expect(warnings).toEqual(['rtprobe run: warning: native addon not loaded (disabled by RTPROBE_NO_ADDON=1); using user-space timestamps']);
      const target = JSON.parse(result.stdout).targets[0];
      expect(target.timestamps).toMatchObject({ tx: 'user', rx: 'user', agent_t2: 'user', agent_t3: 'user' });
      expect(target.received).toBe(30);
    } finally {
      const ended = await agent.stop();
      expect(ended.stderr).toMatch(/warning: native addon not loaded \(disabled by RTPROBE_NO_ADDON=1\)/);
    }
  });

  it.each([
    [['--timestamps', 'kernel'], { RTPROBE_NO_ADDON: '1' }, /--timestamps kernel: the native addon is not available: disabled by RTPROBE_NO_ADDON=1/],
    [['--timestamps', 'user', '--dscp', '46'], {}, /--dscp: needs the native addon; not available with --timestamps user/],
    [['--dscp', '46'], { RTPROBE_NO_ADDON: '1' }, /--dscp: needs the native addon, which is not available/],
    [['--timestamps', 'hardware'], {}, /--timestamps hardware: needs --interface IF/],
    [['--timestamps', 'hardware', '--interface', 'lo'], {}, /lo.*ethtool -T lo/],
    [['--interface', 'nosuchif0'], {}, /nosuchif0/],
  ] as [string[], NodeJS.ProcessEnv, RegExp][])('run %j: exit 2 with a clear message', async (args, env, pattern) => {
    const result = await runCli(['run', '--target', '127.0.0.1:9', '--count', '1', ...args], { env });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(pattern);
    expect(result.stderr).not.toMatch(/internal error/);
  });

  it('socket options are applied: DSCP, priority, busy poll, bound to lo', async () => {
    const agent = await startAgent(['--dscp', '46', '--priority', '5', '--interface', 'lo']);
    try {
      const result = await runCli(['run', '--target', `127.0.0.1:${agent.port}`, '--count', '20', '--rate', '200',
        '--dscp', '46', '--priority', '5', '--busy-poll', '50', '--interface', 'lo', '--json', '-', '--quiet']);
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout).targets[0].received).toBe(20);
    } finally {
      await agent.stop();
    }
  });
});

describe.skipIf(asNobodyReason !== null)(`real-time options without privilege (as uid 65534; needs root and setpriv to switch user)${skipNote(asNobodyReason)}`, () => {
  const asNobody = (args: string[]) => spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--',
    'prlimit', '--rtprio=0', '--', process.execPath, CLI_PATH, ...args], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, HOME: '/tmp' } });

  it('--rt-priority 80: a warning naming CAP_SYS_NICE / RLIMIT_RTPRIO, and the run goes on', async () => {
    const agent = await startAgent();
    try {
      const result = asNobody(['run', '--target', `127.0.0.1:${agent.port}`, '--count', '20', '--rate', '200', '--rt-priority', '80', '--json', '-', '--quiet']);
      expect(result.status, result.stderr).toBe(0);
      expect(result.stderr).toMatch(/warning: .*SCHED_FIFO.*CAP_SYS_NICE.*RLIMIT_RTPRIO/);
      expect(JSON.parse(result.stdout).targets[0].received).toBe(20);
    } finally {
      await agent.stop();
    }
  });

  it('--require-rt turns that into exit 2 before any probe is sent', () => {
    const result = asNobody(['run', '--target', '127.0.0.1:9', '--count', '20', '--rt-priority', '80', '--require-rt']);
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/--require-rt/);
  });

  it('the agent too: --rt-priority warns, --require-rt exits 2', () => {
    const result = asNobody(['agent', '--listen', '127.0.0.1:0', '--rt-priority', '80', '--require-rt']);
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/SCHED_FIFO.*CAP_SYS_NICE/);
  });
});
