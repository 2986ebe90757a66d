import { describe, expect, it } from 'vitest';
import {
  checkLoads, formatLoadLine, loadCommand, loadNeeds, loadTimeoutS, parseLoadFlags, shellLine,
  type LoadFacts, type LoadRecord, type LoadSpec,
} from '../../../controller/load/load-spec.js';

const context = { timeoutS: 72, tempDir: '/tmp/rtprobe-load-x/1-io-host', guardPid: 4242 };

const labUp: LoadFacts = {
  isRoot: true,
  hasTool: () => true,
  labTargets: [
    { role: 'pt', address: '10.254.20.2', netns: 'rtp-pt' },
    { role: 'emu', address: '10.254.21.2', netns: 'rtp-emu' },
  ],
  qemuGuest: null,
  namespaces: ['rtp-pt', 'rtp-emu'],
};

describe('parseLoadFlags', () => {
  it('no --load: no load', () => {
    expect(parseLoadFlags(undefined, undefined)).toEqual([]);
  });

  it('--load-in is the place of every --load without its own @WHERE (default host)', () => {
    expect(parseLoadFlags(['cpu'], undefined)).toEqual([{ kind: 'cpu', where: 'host' }]);
    expect(parseLoadFlags(['cpu', 'io@host', 'hackbench'], 'pt')).toEqual([
      { kind: 'cpu', where: 'pt' }, { kind: 'io', where: 'host' }, { kind: 'hackbench', where: 'pt' },
    ]);
    expect(parseLoadFlags(['hackbench-classic@emu'], undefined)).toEqual([{ kind: 'hackbench-classic', where: 'emu' }]);
  });

  it('flood names the guest flooded; on the host it floods emu', () => {
    expect(parseLoadFlags(['flood'], undefined)).toEqual([{ kind: 'flood', where: 'emu' }]);
    expect(parseLoadFlags(['flood'], 'host')).toEqual([{ kind: 'flood', where: 'emu' }]);
    expect(parseLoadFlags(['flood@pt'], undefined)).toEqual([{ kind: 'flood', where: 'pt' }]);
    expect(parseLoadFlags(['flood'], 'pt')).toEqual([{ kind: 'flood', where: 'pt' }]);
  });

  it.each([
    [['gpu'], undefined, "--load: 'gpu' is not a load (cpu, io, hackbench, hackbench-classic, flood)"],
    [['cpu@vm'], undefined, "--load cpu@vm: 'vm' is not a place (host, pt, emu, guest)"],
    [['cpu@'], undefined, "--load cpu@: '' is not a place"],
    [['cpu'], 'vm', "--load-in: 'vm' is not a place"],
    [['flood@guest'], undefined, 'the flood runs on the host into a namespace guest'],
    [undefined, 'pt', '--load-in: give --load too'],
    [['cpu', 'cpu@host'], undefined, '--load: cpu on the host given twice'],
    [['flood', 'flood@emu'], undefined, '--load: flood from the host into emu (10.254.21.2) given twice'],
  ])('%j --load-in %s: %s', (loads, loadIn, message) => {
    const result = parseLoadFlags(loads, loadIn);
    expect(result).toBeInstanceOf(Error);
    expect((result as Error).message).toContain(message);
  });

  it('in the QEMU guest: needs root and the QEMU lab, no host tools; the command goes through lab guest-exec with the lab token', () => {
    expect(parseLoadFlags(['cpu', 'hackbench'], 'guest')).toEqual([{ kind: 'cpu', where: 'guest' }, { kind: 'hackbench', where: 'guest' }]);
    expect(loadNeeds({ kind: 'hackbench', where: 'guest' })).toEqual({ tools: [], root: true, lab: 'qemu' });
    const down = checkLoads([{ kind: 'cpu', where: 'guest' }], { ...labUp, hasTool: () => false, qemuGuest: null });
    expect(down?.message).toContain("needs the QEMU lab, and it is not up; run 'rtprobe lab up --qemu' first");
    const qemuGuest = { address: '10.254.22.2', tokenFile: '/run/rtprobe-lab/qemu-token' };
    expect(checkLoads([{ kind: 'cpu', where: 'guest' }], { ...labUp, hasTool: () => false, qemuGuest })).toBeNull();
    const command = loadCommand({ kind: 'cpu', where: 'guest' }, { ...context, tempDir: null, qemuGuest: { ...qemuGuest, rtprobe: ['node', 'rtprobe.js'] } });
    expect(command.argv.slice(0, 9)).toEqual(['node', 'rtprobe.js', 'lab', 'guest-exec', '--to', '10.254.22.2:7709', '--token-file', '/run/rtprobe-lab/qemu-token', '--']);
    expect(command.argv.slice(9, 11)).toEqual(['sh', '-c']);
    expect(command.argv[11]).toContain('nproc');
    expect(command.stopSignal).toBe('SIGTERM');
  });

  it('the same kind in two places is two loads', () => {
    expect(parseLoadFlags(['cpu@pt', 'cpu@emu'], undefined)).toEqual([{ kind: 'cpu', where: 'pt' }, { kind: 'cpu', where: 'emu' }]);
  });
});

describe('loadCommand', () => {
  it('cpu and io on the host: stress-ng, bounded by its own --timeout; io writes in the temp dir', () => {
    expect(loadCommand({ kind: 'cpu', where: 'host' }, context)).toEqual({
      argv: ['stress-ng', '--cpu', '0', '--cpu-method', 'matrixprod', '--timeout', '72s'], target: null, stopSignal: 'SIGTERM',
    });
    expect(loadCommand({ kind: 'io', where: 'host' }, context).argv).toEqual([
      'stress-ng', '--hdd', '1', '--hdd-bytes', '64M', '--temp-path', '/tmp/rtprobe-load-x/1-io-host', '--timeout', '72s',
    ]);
    expect(() => loadCommand({ kind: 'io', where: 'host' }, { ...context, tempDir: null })).toThrow();
  });

  it('inside a guest: the same command behind ip netns exec NETNS', () => {
    expect(loadCommand({ kind: 'cpu', where: 'pt' }, context).argv.slice(0, 5)).toEqual(['ip', 'netns', 'exec', 'rtp-pt', 'stress-ng']);
    expect(loadCommand({ kind: 'hackbench', where: 'emu' }, context).argv.slice(0, 5)).toEqual(['ip', 'netns', 'exec', 'rtp-emu', 'sh']);
  });

  it('hackbench loops while rtprobe lives, and a failing pass ends the loop with its status', () => {
    const { argv } = loadCommand({ kind: 'hackbench', where: 'host' }, context);
    expect(argv).toEqual(['sh', '-c', 'while kill -0 "$1" 2>/dev/null; do hackbench -P -g 4 -l 10000 || exit $?; done', 'rtprobe-load', '4242']);
    expect(loadCommand({ kind: 'hackbench-classic', where: 'host' }, context).argv[2]).toContain('hackbench -P -g 150 -l 1000 ');
  });

  it('flood: ping -f from the host (never in a namespace) to the lab guest only, stopped with SIGINT for its summary', () => {
    expect(loadCommand({ kind: 'flood', where: 'emu' }, context)).toEqual({
      argv: ['ping', '-f', '-q', '-w', '72', '10.254.21.2'], target: '10.254.21.2', stopSignal: 'SIGINT',
    });
    expect(loadCommand({ kind: 'flood', where: 'pt' }, context).argv.at(-1)).toBe('10.254.20.2');
    expect(loadCommand({ kind: 'flood', where: 'host' }, context).target).toBe('10.254.21.2');
  });
});

describe('what a load needs', () => {
  it('tools with their Debian packages, root and the lab', () => {
    expect(loadNeeds({ kind: 'cpu', where: 'host' })).toEqual({ tools: [{ tool: 'stress-ng', debian: 'stress-ng' }], root: false, lab: null });
    expect(loadNeeds({ kind: 'hackbench', where: 'pt' })).toEqual({
      tools: [{ tool: 'hackbench', debian: 'rt-tests' }, { tool: 'ip', debian: 'iproute2' }], root: true, lab: 'pt',
    });
    expect(loadNeeds({ kind: 'flood', where: 'emu' })).toEqual({ tools: [{ tool: 'ping', debian: 'iputils-ping' }], root: true, lab: 'emu' });
  });

  it('all set: null', () => {
    const all: LoadSpec[] = [{ kind: 'cpu', where: 'pt' }, { kind: 'io', where: 'host' }, { kind: 'flood', where: 'emu' }];
    expect(checkLoads(all, labUp)).toBeNull();
    expect(checkLoads([{ kind: 'cpu', where: 'host' }], { ...labUp, isRoot: false, labTargets: null, namespaces: [] })).toBeNull();
  });

  it('missing tools: one message naming every Debian package, each once', () => {
    const facts = { ...labUp, hasTool: (tool: string) => tool === 'ip' };
    const error = checkLoads([{ kind: 'cpu', where: 'host' }, { kind: 'io', where: 'pt' }, { kind: 'hackbench', where: 'host' }, { kind: 'flood', where: 'pt' }], facts);
    expect(error?.message).toBe('--load: stress-ng (Debian package stress-ng), hackbench (Debian package rt-tests), ' +
      'ping (Debian package iputils-ping) not found on PATH; install with: apt-get install stress-ng rt-tests iputils-ping');
  });

  it('not root: flood and loads in a guest say so', () => {
    const user = { ...labUp, isRoot: false };
    expect(checkLoads([{ kind: 'flood', where: 'emu' }], user)?.message).toMatch(/needs root \(ping -f\); run it with sudo/);
    expect(checkLoads([{ kind: 'io', where: 'pt' }], user)?.message).toMatch(/needs root \(ip netns exec\)/);
  });

  it('the lab down (no state, or the namespace gone): run lab up first', () => {
    expect(checkLoads([{ kind: 'flood', where: 'emu' }], { ...labUp, labTargets: null })?.message).toContain("needs the lab, and it is not up; run 'rtprobe lab up' first");
    expect(checkLoads([{ kind: 'cpu', where: 'pt' }], { ...labUp, namespaces: ['rtp-emu'] })?.message).toContain('not up');
    expect(checkLoads([{ kind: 'cpu', where: 'pt' }], { ...labUp, labTargets: new Error('bad targets') })?.message).toContain('damaged');
  });

  it('a state file naming another address is refused: the flood hits only the lab guest', () => {
    const other = { ...labUp, labTargets: [{ role: 'emu', address: '192.0.2.7', netns: 'rtp-emu' }] };
    expect(checkLoads([{ kind: 'flood', where: 'emu' }], other)?.message).toContain('refusing');
  });
});

describe('timeouts and text', () => {
  it('the load outlives the run: sending time + loss-after + 60 s', () => {
    expect(loadTimeoutS({ rateHz: 100, count: 200, durationNs: null, lossAfterNs: 10e9 })).toBe(72);
    expect(loadTimeoutS({ rateHz: 100, count: null, durationNs: 3600e9, lossAfterNs: 1.5e9 })).toBe(3662);
  });

  it('shellLine quotes what a shell would split', () => {
    expect(shellLine(['sh', '-c', 'while kill -0 "$1"; do :; done', 'x'])).toBe(`sh -c 'while kill -0 "$1"; do :; done' x`);
    expect(shellLine(['echo', "it's"])).toBe(`echo 'it'\\''s'`);
  });

  const record: LoadRecord = {
    kind: 'flood', where: 'emu', target: '10.254.21.2', command: ['ping', '-f', '-q', '-w', '72', '10.254.21.2'], pid: 9,
    started: '2026-01-01T00:00:00.000Z', stopped: '2026-01-01T00:00:02.500Z', exit: { code: 0, signal: null },
    stop_signals: ['SIGINT'], died: false,
    output: ['--- 10.254.21.2 ping statistics ---', '26770 packets transmitted, 26770 received, 0% packet loss, time 2637ms', 'rtt min/avg/max'],
  };

  it('one line: what, where, how long, the command, how it ended (flood: how much)', () => {
    expect(formatLoadLine(record)).toBe('  load     flood from the host into emu (10.254.21.2) for 2.5 s: ping -f -q -w 72 10.254.21.2; ' +
      'stopped by SIGINT (exit 0); 26770 packets transmitted, 26770 received, 0% packet loss, time 2637ms');
    const cpu: LoadRecord = { ...record, kind: 'cpu', where: 'pt', target: null, command: ['stress-ng'], stop_signals: ['SIGTERM', 'SIGKILL'], exit: { code: null, signal: 'SIGKILL' }, output: [] };
    expect(formatLoadLine(cpu)).toBe('  load     cpu in rtp-pt for 2.5 s: stress-ng; stopped by SIGTERM then SIGKILL (signal SIGKILL)');
  });

  it('a load that died says DIED with its last output', () => {
    const died: LoadRecord = { ...record, kind: 'cpu', where: 'host', target: null, command: ['stress-ng'], stop_signals: [], died: true, exit: { code: 1, signal: null }, output: ['oops'] };
    expect(formatLoadLine(died)).toBe('  load     cpu on the host for 2.5 s: stress-ng; DIED during the run (exit 1): oops');
  });
});
