import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_PATH, runCli, startAgent } from '../helpers/cli.js';
import { createGuestNamespace, namespaceExists, type GuestNamespace } from '../helpers/netns.js';
import { skipNote, whySkip } from '../helpers/skip.js';

const isRoot = process.getuid?.() === 0;
const hasPing = spawnSync('ping', ['-V']).status === 0;
const hasSetpriv = spawnSync('setpriv', ['--version']).status === 0;
const skipReason = whySkip([!isRoot, 'raw ICMP sockets and network namespaces need root']);
const noPing = whySkip([!hasPing, 'needs iputils ping']);
const noSetpriv = whySkip([!hasSetpriv, 'needs setpriv (util-linux) to drop CAP_NET_RAW']);

describe.skipIf(skipReason !== null)(`rtprobe run --mode icmp (raw sockets: needs root or CAP_NET_RAW)${skipNote(skipReason)}`, () => {
  let guest: GuestNamespace;
  beforeAll(() => { guest = createGuestNamespace('icmpcli', 81); });
  afterAll(() => {
    guest.remove();
    expect(namespaceExists(guest.name)).toBe(false);
  });

  it.each(['auto', 'user'])('--timestamps %s: N probes to 127.0.0.1, N replies, a complete JSON report', async (mode) => {
    const result = await runCli(['run', '--mode', 'icmp', '--target', 'lo=127.0.0.1', '--count', '100', '--rate', '100',
      '--timestamps', mode, '--json', '-', '--quiet']);
    expect(result.code, result.stderr).toBe(0);
    const target = JSON.parse(result.stdout).targets[0];
    expect(target).toMatchObject({ name: 'lo', address: '127.0.0.1', mode: 'icmp', sent: 100, received: 100, lost: 0, duplicates: 0 });
    expect(target.timestamps.tx).toBe(mode === 'user' ? 'user' : 'kernel');
    expect(target.rtt_ns.count).toBe(100);
    expect(target.turnaround_ns.count).toBe(0);
  });

  it('an address inside a namespace the test made: every probe answered', async () => {
    const result = await runCli(['run', '--target', `ns=icmp://${guest.guestAddress}`, '--count', '50', '--rate', '100', '--json', '-', '--quiet']);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).targets[0]).toMatchObject({ mode: 'icmp', sent: 50, received: 50, lost: 0 });
  });

  it('ICMP and UDP targets mixed in one run', async () => {
    const agent = await startAgent();
    try {
      const result = await runCli(['run', '--target', `udp=127.0.0.1:${agent.port}`, '--target', 'icmp=icmp://127.0.0.1',
        '--count', '50', '--rate', '100', '--json', '-', '--quiet']);
      expect(result.code, result.stderr).toBe(0);
      const [udp, icmp] = JSON.parse(result.stdout).targets;
      expect(udp).toMatchObject({ mode: 'udp', received: 50 });
      expect(icmp).toMatchObject({ mode: 'icmp', received: 50 });
    } finally {
      await agent.stop();
    }
  });

  it.skipIf(noPing !== null)(`a concurrent ping to the same host changes no count (needs iputils ping)${skipNote(noPing)}`, async () => {
    const ping = spawn('ping', ['-i', '0.05', '-c', '40', '-s', '56', '127.0.0.1'], { stdio: 'ignore' });
    try {
      const result = await runCli(['run', '--mode', 'icmp', '--target', '127.0.0.1', '--count', '200', '--rate', '100', '--json', '-', '--quiet']);
      expect(result.code, result.stderr).toBe(0);
      const report = JSON.parse(result.stdout);
      expect(report.targets[0]).toMatchObject({ sent: 200, received: 200, lost: 0, duplicates: 0, rejected: {} });
      // ping's replies were seen and set aside, not counted as ours
      expect(report.rejected_unattributed['not-ours']).toBeGreaterThan(0);
    } finally {
      ping.kill();
    }
  });

  it.skipIf(noSetpriv !== null)(`without CAP_NET_RAW: a clear error saying how to run it, exit 2${skipNote(noSetpriv)}`, () => {
    const result = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--',
      process.execPath, CLI_PATH, 'run', '--mode', 'icmp', '--target', '127.0.0.1', '--count', '1'],
    { encoding: 'utf8', timeout: 30_000, env: { ...process.env, HOME: '/tmp' } });
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/CAP_NET_RAW/);
    expect(result.stderr).toMatch(/setcap cap_net_raw\+ep/);
    expect(result.stderr).toMatch(/--mode udp/);
  });
});
