/**
 * A target whose port is closed answers each probe with ICMP port unreachable (issue 16: unknown
 * is not zero). The controller counts them per target as `unreachable`, says so on standard
 * error as soon as the first one comes (not after --loss-after), and its report names the
 * reason with a hint. Loopback IPv4 and IPv6, native transport (kernel stamps).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_PATH, runCli } from '../helpers/cli.js';
import { skipNote, whySkip } from '../helpers/skip.js';

interface Target { sent: number; received: number; lost: number; unreachable: number; unreachable_reason: string | null }

/** A port nothing listens on: bound once by us, then closed. */
async function closedPort(type: 'udp4' | 'udp6', address: string): Promise<number> {
  const socket: Socket = createSocket(type);
  await new Promise<void>((resolve) => socket.bind(0, address, resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(resolve));
  return port;
}

describe('ICMP port unreachable is counted and named (native transport)', () => {
  it.each([['udp4', '127.0.0.1', 'ICMP port unreachable'], ['udp6', '::1', 'ICMPv6 port unreachable']] as const)(
    '%s %s: every probe counts as unreachable, named on stderr at once and in the report', async (type, address, reason) => {
      const port = await closedPort(type, address);
      const target = address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
      const result = await runCli(['run', '--target', target, '--count', '20', '--rate', '100', '--loss-after', '1s',
        '--timestamps', 'kernel', '--json', '-', '--quiet']);
      expect(result.code, result.stderr).toBe(1); // no reply at all
      const [t] = (JSON.parse(result.stdout) as { targets: Target[] }).targets;
      expect(t?.sent).toBe(20);
      expect(t?.received).toBe(0);
      expect(t?.unreachable).toBe(20);
      expect(t?.unreachable_reason).toBe(reason);
      expect(result.stderr).toContain(`${reason} — nothing listens on port ${port} there`);

      const text = await runCli(['run', '--target', target, '--count', '5', '--loss-after', '1s', '--timestamps', 'kernel']);
      expect(text.stdout).toMatch(new RegExp(`unreachable {2}5 probes answered by ${reason}: nothing listens on port ${port}`));
    }, 30_000);

  it('--quiet: the first error is named while the run sends, not when its event batch fills', async () => {
    // At 50 Hz a --quiet run's batch fills (512 events) or ages out (10 s) after ~10 s; the
    // first ICMP error makes its batch due at once. Stopped with SIGINT once named.
    const port = await closedPort('udp4', '127.0.0.1');
    const started = performance.now();
    const child = spawn(process.execPath, [CLI_PATH, 'run', '--target', `127.0.0.1:${port}`, '--rate', '50', '--duration', '30s',
      '--timestamps', 'kernel', '--quiet']);
    const namedAfterMs = await new Promise<number>((resolve, reject) => {
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += String(chunk);
        if (stderr.includes(`ICMP port unreachable — nothing listens on port ${port} there`)) resolve(performance.now() - started);
      });
      child.once('close', () => reject(new Error(`ended without naming the error: ${stderr}`)));
    });
    child.kill('SIGINT');
    await new Promise((resolve) => child.once('close', resolve));
    expect(namedAfterMs).toBeLessThan(5000);
  }, 40_000);

  it('several targets: each error counts for the target of its address and port only', async () => {
    const echo = createSocket('udp4');
    echo.on('message', (msg, rinfo) => echo.send(msg, rinfo.port, rinfo.address));
    await new Promise<void>((resolve) => echo.bind(0, '127.0.0.1', resolve));
    try {
      const [p1, p2] = [await closedPort('udp4', '127.0.0.1'), await closedPort('udp4', '127.0.0.1')];
      // same address other port, same port other address: a lookup that drops either part double counts
      const targets = [`a=127.0.0.1:${p1}`, `live=127.0.0.1:${echo.address().port}`, `b=127.0.0.2:${p1}`, `c=127.0.0.1:${p2}`];
      const result = await runCli(['run', ...targets.flatMap((t) => ['--target', t]), '--count', '20', '--rate', '100',
        '--loss-after', '1s', '--timestamps', 'kernel', '--json', '-', '--quiet']);
      const byName = new Map((JSON.parse(result.stdout) as { targets: (Target & { name: string })[] }).targets.map((t) => [t.name, t]));
      expect([...byName.keys()].sort()).toEqual(['a', 'b', 'c', 'live']);
      for (const name of ['a', 'b', 'c']) {
        expect(byName.get(name)?.sent, name).toBe(20);
        expect(byName.get(name)?.unreachable, name).toBe(20);
      }
      expect(byName.get('live')?.unreachable).toBe(0);
    } finally {
      echo.close();
    }
  }, 30_000);

  it('a target that answers gets no unreachable count', async () => {
    const echo = createSocket('udp4');
    // a plain echo: the run's probes come back unchanged, so they count as rejected, not unreachable
    echo.on('message', (msg, rinfo) => echo.send(msg, rinfo.port, rinfo.address));
    await new Promise<void>((resolve) => echo.bind(0, '127.0.0.1', resolve));
    try {
      const result = await runCli(['run', '--target', `127.0.0.1:${echo.address().port}`, '--count', '10', '--loss-after', '1s',
        '--timestamps', 'kernel', '--json', '-', '--quiet']);
      const [t] = (JSON.parse(result.stdout) as { targets: Target[] }).targets;
      expect(t?.sent).toBe(10);
      expect(t?.unreachable).toBe(0);
      expect(t?.unreachable_reason).toBeNull();
      expect(result.stderr).not.toContain('unreachable');
    } finally {
      echo.close();
    }
  }, 30_000);
});

const isRoot = process.getuid?.() === 0;
const skipRouter = whySkip([!isRoot, 'needs root (network namespaces)']);

/**
 * Host unreachable from a router: a controller namespace behind a router namespace whose
 * route to the target range is 'unreachable' (both ends are namespaces this test makes; no
 * route in the root namespace is touched). The router answers forwarded probes with ICMP
 * host unreachable, rate-limited by its kernel per source address (net.ipv4.route.error_burst:
 * 5, then one a second), so each case probes from a controller namespace of its own: the UDP
 * case's errors must not use up the ICMP case's. The UDP controller reads them from its error
 * queue, the ICMP controller from its raw socket, where they quote our echo request.
 */
describe.skipIf(skipRouter !== null)(`ICMP host unreachable from a router, UDP and ICMP probes${skipNote(skipRouter)}`, () => {
  const rtr = `rtp-unr-r-${process.pid}`;
  const controllers = { udp: `rtp-unr-u-${process.pid}`, icmp: `rtp-unr-i-${process.pid}` };
  const sh = (args: string[]): void => { execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] }); };

  beforeAll(() => {
    sh(['netns', 'add', rtr]);
    sh(['-n', rtr, 'link', 'set', 'lo', 'up']);
    Object.values(controllers).forEach((ctl, i) => {
      const [own, router] = [`10.254.250.${i * 4 + 1}`, `10.254.250.${i * 4 + 2}`];
      sh(['netns', 'add', ctl]);
      sh(['-n', ctl, 'link', 'add', 'c0', 'type', 'veth', 'peer', 'name', `r${i}`, 'netns', rtr]);
      sh(['-n', ctl, 'addr', 'add', `${own}/30`, 'dev', 'c0']);
      sh(['-n', rtr, 'addr', 'add', `${router}/30`, 'dev', `r${i}`]);
      for (const [ns, dev] of [[ctl, 'c0'], [rtr, `r${i}`], [ctl, 'lo']] as const) sh(['-n', ns, 'link', 'set', dev, 'up']);
      sh(['-n', ctl, 'route', 'add', '10.254.251.0/24', 'via', router]);
    });
    sh(['-n', rtr, 'route', 'add', 'unreachable', '10.254.251.0/24']);
    execFileSync('ip', ['netns', 'exec', rtr, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  });
  afterAll(() => {
    for (const ns of [...Object.values(controllers), rtr]) spawnSync('ip', ['netns', 'del', ns]);
  });

  it.each([['udp', '10.254.251.7:7999'], ['icmp', 'icmp://10.254.251.7']] as const)('%s probes to %s', (mode, target) => {
    const result = spawnSync('ip', ['netns', 'exec', controllers[mode], process.execPath, CLI_PATH, 'run', '--target', target, '--count', '20',
      '--rate', '100', '--loss-after', '1s', '--timestamps', 'kernel', '--json', '-', '--quiet'], { encoding: 'utf8', timeout: 30_000 });
    const [t] = (JSON.parse(result.stdout) as { targets: Target[] }).targets;
    expect(t?.sent).toBe(20);
    expect(t?.received).toBe(0);
    expect(t?.unreachable).toBeGreaterThanOrEqual(1); // the router's kernel rate-limits them
    expect(t?.unreachable).toBeLessThanOrEqual(20);
    expect(t?.unreachable_reason).toBe('ICMP host unreachable');
    expect(result.stderr).toContain('ICMP host unreachable — no route to 10.254.251.7, or a firewall refuses the probes');
  }, 30_000);
});
