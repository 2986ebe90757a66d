import { describe, it, expect } from 'vitest';
import { parseArgs } from 'node:util';
import { parseTargetsFileText } from '../../../controller/engine/targets-file.js';
import {
  DEFAULT_AGENT_PORT, RUN_FLAG_SPEC, parseRunConfig, parseTargetSpec, type RunConfig, type RunFlags,
} from '../../../controller/engine/run-config.js';

const TARGET = ['127.0.0.1'];

function config(flags: RunFlags): RunConfig {
  const result = parseRunConfig(flags);
  if (result instanceof Error) throw new Error(`expected a config, got: ${result.message}`);
  return result;
}

function expectFlagError(flags: RunFlags, flag: string): void {
  const result = parseRunConfig(flags);
  expect(result, JSON.stringify(flags)).toBeInstanceOf(Error);
  if (result instanceof Error) expect(result.message).toContain(flag);
}

/** Flags as the command line gives them, through the same util.parseArgs spec the command uses. */
function fromArgv(args: string[]): RunFlags {
  return parseArgs({ args, options: RUN_FLAG_SPEC, strict: true }).values as RunFlags;
}

describe('parseRunConfig defaults', () => {
  it('rate 100, duration 30s, size 64, timeout 1s, loss-after 10s, port 7707', () => {
    expect(config({ target: TARGET })).toEqual({
      targets: [{ name: '127.0.0.1:7707', host: '127.0.0.1', port: 7707, mode: 'udp' }],
      rateHz: 100, durationNs: 30e9, count: null, sizeBytes: 64, timeoutNs: 1e9, lossAfterNs: 10e9,
      json: null, quiet: false, verbose: false, timestamps: 'auto',
      socket: { native: { spinUs: 0, spinCapped: true, spinAuto: false }, requireRt: false, given: [] }, agentWs: new Map(), agentToken: null, authKey: null,
      verdict: { maxRttNs: null, maxP99Ns: null, maxLossRatio: null },
    });
    expect(DEFAULT_AGENT_PORT).toBe(7707);
  });

  it('--count replaces the duration', () => {
    expect(config({ target: TARGET, count: '200' })).toMatchObject({ count: 200, durationNs: null });
  });

  it('parses every flag from an argv', () => {
    const c = config(fromArgv([
      '--target', 'a=10.0.0.1:9000', '--target', 'b=[fd00::2]', '--rate', '1k', '--duration', '16h', '--size', '1472',
      '--timeout', '50ms', '--loss-after', '2s', '--json', '-', '--quiet', '--timestamps', 'kernel',
    ]));
    expect(c).toEqual({
      targets: [{ name: 'a', host: '10.0.0.1', port: 9000, mode: 'udp' }, { name: 'b', host: 'fd00::2', port: 7707, mode: 'udp' }],
      rateHz: 1000, durationNs: 16 * 3600e9, count: null, sizeBytes: 1472, timeoutNs: 50e6, lossAfterNs: 2e9,
      json: '-', quiet: true, verbose: false, timestamps: 'kernel',
      socket: { native: { spinUs: 0, spinCapped: true, spinAuto: false }, requireRt: false, given: [] }, agentWs: new Map(), agentToken: null, authKey: null,
      verdict: { maxRttNs: null, maxP99Ns: null, maxLossRatio: null },
    });
  });

  it.each(['auto', 'kernel', 'hardware', 'user'] as const)('--timestamps %s', (mode) => {
    expect(config({ target: TARGET, timestamps: mode }).timestamps).toBe(mode);
  });

  it('--mode icmp applies to targets without a scheme; a scheme overrides it', () => {
    const c = config({ target: ['a=127.0.0.1', 'b=udp://127.0.0.1:9'], mode: 'icmp' });
    expect(c.targets.map((t) => [t.name, t.mode, t.port])).toEqual([['a', 'icmp', 0], ['b', 'udp', 9]]);
  });

  it('--spin: auto follows the wake-ups up to 100 µs, capped at a tenth of the slot spacing, the default with --cpu; without it the default sleeps; a --spin given is spun in full', () => {
    expect(config({ target: TARGET }).socket.native).toMatchObject({ spinUs: 0, spinCapped: true, spinAuto: false });
    expect(config({ target: TARGET, cpu: '1' }).socket.native).toMatchObject({ spinUs: 100, spinCapped: true, spinAuto: true });
    expect(config({ target: TARGET, cpu: '1', spin: '0' }).socket.native).toMatchObject({ spinUs: 0, spinCapped: false, spinAuto: false });
    expect(config({ target: TARGET, spin: 'auto' }).socket.native).toMatchObject({ spinUs: 100, spinCapped: true, spinAuto: true });
    expect(config({ target: TARGET, spin: '100' }).socket.native).toMatchObject({ spinUs: 100, spinCapped: false, spinAuto: false });
    expect(config({ target: TARGET, spin: '0' }).socket.native).toMatchObject({ spinUs: 0, spinCapped: false, spinAuto: false });
  });

  it('socket and real-time flags', () => {
    const c = config(fromArgv(['--target', 'a=127.0.0.1', '--dscp', '46', '--priority', '5', '--busy-poll', '50',
      '--interface', 'lo', '--rt-priority', '80', '--cpu', '1', '--mlock', '--require-rt']));
    expect(c.socket).toEqual({
      native: { dscp: 46, priority: 5, busyPollUs: 50, interface: 'lo', rtPriority: 80, cpu: 1, mlock: true, spinUs: 100, spinCapped: true, spinAuto: true },
      requireRt: true,
      given: ['--dscp', '--priority', '--busy-poll', '--rt-priority', '--cpu', '--interface', '--mlock'],
    });
  });

  it('--agent-ws: the only target needs no name; several need NAME=', () => {
    expect(config({ target: ['g=127.0.0.1'], 'agent-ws': ['ws://127.0.0.1:7708'] }).agentWs)
      .toEqual(new Map([['g', 'ws://127.0.0.1:7708/v1/stream']]));
    expect(parseRunConfig({ target: ['a=127.0.0.1', 'b=127.0.0.2'], 'agent-ws': ['ws://127.0.0.1:7708'] })).toBeInstanceOf(Error);
    expect(config({ target: ['a=127.0.0.1', 'b=127.0.0.2'], 'agent-ws': ['b=ws://127.0.0.2:7708/v1/stream'] }).agentWs.get('b'))
      .toBe('ws://127.0.0.2:7708/v1/stream');
  });

  it('--loss-after equal to --timeout is allowed', () => {
    expect(config({ target: TARGET, timeout: '2s', 'loss-after': '2s' })).toMatchObject({ timeoutNs: 2e9, lossAfterNs: 2e9 });
  });
});

describe('parseRunConfig: every bad value names its flag', () => {
  it.each([
    ['--target', {}],
    ['--target', { target: [] }],
    ['--rate', { target: TARGET, rate: '0' }],
    ['--rate', { target: TARGET, rate: 'abc' }],
    ['--rate', { target: TARGET, rate: '-10' }],
    ['--rate', { target: TARGET, rate: '2M' }],
    ['--size', { target: TARGET, size: '63' }],
    ['--size', { target: TARGET, size: '1473' }],
    ['--size', { target: TARGET, size: 'big' }],
    ['--size', { target: TARGET, size: '64.5' }],
    ['--duration', { target: TARGET, duration: 'abc' }],
    ['--duration', { target: TARGET, duration: '0' }],
    ['--duration', { target: TARGET, duration: '999us' }],
    ['--count', { target: TARGET, count: '0' }],
    ['--count', { target: TARGET, count: '-1' }],
    ['--count', { target: TARGET, count: '1.5' }],
    ['--count', { target: TARGET, count: 'many' }],
    ['--duration', { target: TARGET, duration: '10s', count: '5' }],
    ['--count', { target: TARGET, duration: '10s', count: '5' }],
    ['--timeout', { target: TARGET, timeout: 'soon' }],
    ['--loss-after', { target: TARGET, 'loss-after': 'later' }],
    ['--loss-after', { target: TARGET, timeout: '2s', 'loss-after': '1s' }],
    ['--loss-after', { target: TARGET, 'loss-after': '2h' }],
    // 1h at 1 kHz would keep 3.6 million probes in flight per target
    ['--loss-after', { target: TARGET, 'loss-after': '1h', rate: '1k' }],
    ['--target', { target: ['127.0.0.1:0'] }],
    ['--timestamps', { target: TARGET, timestamps: 'bogus' }],
    ['--timestamps', { target: TARGET, timestamps: '' }],
    ['--json', { target: TARGET, json: '' }],
    ['--dscp', { target: TARGET, dscp: '64' }],
    ['--rt-priority', { target: TARGET, 'rt-priority': '0' }],
    ['--rt-priority', { target: TARGET, 'rt-priority': '100' }],
    ['--cpu', { target: TARGET, cpu: 'x' }],
    ['--interface', { target: TARGET, interface: 'a very long interface name' }],
    ['--agent-ws', { target: TARGET, 'agent-ws': ['http://127.0.0.1:7708'] }],
    ['--agent-ws', { target: ['icmp://127.0.0.1'], 'agent-ws': ['ws://127.0.0.1:7708'] }],
    ['--mode', { target: TARGET, mode: 'tcp' }],
    ['--spin', { target: TARGET, spin: '-1' }],
    ['--spin', { target: TARGET, spin: '2000000' }],
    ['--spin', { target: TARGET, spin: 'automatic' }],
    ['--target', { target: ['icmp://127.0.0.1:7707'] }],
    ['--agent-ws', { target: TARGET, 'agent-ws': ['nosuch=ws://127.0.0.1:7708'] }],
    ['--agent-token-file', { target: TARGET, 'agent-token-file': '/nonexistent/token' }],
  ] as [string, RunFlags][])('%s: %j', (flag, flags) => {
    expectFlagError(flags, flag);
  });

  it.each([
    'bad name=127.0.0.1', '=127.0.0.1', `${'n'.repeat(65)}=127.0.0.1`, 'g/1=127.0.0.1',
    'host:7707:x', '127.0.0.1:70000', '127.0.0.1:', '[127.0.0.1]:7707', '', 'guest=',
  ])('--target %j', (text) => {
    expectFlagError({ target: [text] }, '--target');
  });

  it('a duplicate target name is rejected', () => {
    expectFlagError({ target: ['g=127.0.0.1', 'g=127.0.0.2'] }, '--target');
    expectFlagError({ target: ['127.0.0.1', '127.0.0.1:7707'] }, '--target'); // same default name
  });

  it('--target port 0 is rejected: there is no port 0 to send to', () => {
    // dgram's send() throws ERR_SOCKET_BAD_PORT for port 0 inside the schedule's timer
    expectFlagError({ target: ['127.0.0.1:0'] }, '--target');
    expectFlagError({ target: ['[::1]:0'] }, '--target');
  });

  it('the first bad target wins even after good ones', () => {
    expectFlagError({ target: ['a=127.0.0.1', 'b=host:1:2'] }, '--target');
  });
});

describe('parseTargetSpec', () => {
  it.each([
    ['127.0.0.1', { name: '127.0.0.1:7707', host: '127.0.0.1', port: 7707, mode: 'udp' }],
    ['guest=127.0.0.1:9000', { name: 'guest', host: '127.0.0.1', port: 9000, mode: 'udp' }],
    ['[::1]:7707', { name: '[::1]:7707', host: '::1', port: 7707, mode: 'udp' }],
    ['::1', { name: '[::1]:7707', host: '::1', port: 7707, mode: 'udp' }],
    ['v6=[fd00::1]:8000', { name: 'v6', host: 'fd00::1', port: 8000, mode: 'udp' }],
    ['rt-vm_1.a=guest.local', { name: 'rt-vm_1.a', host: 'guest.local', port: 7707, mode: 'udp' }],
    [`${'n'.repeat(64)}=h`, { name: 'n'.repeat(64), host: 'h', port: 7707, mode: 'udp' }],
    ['icmp://127.0.0.1', { name: '127.0.0.1', host: '127.0.0.1', port: 0, mode: 'icmp' }],
    ['rtos=icmp://[::1]', { name: 'rtos', host: '::1', port: 0, mode: 'icmp' }],
    ['u=udp://127.0.0.1:9', { name: 'u', host: '127.0.0.1', port: 9, mode: 'udp' }],
  ])('%s', (text, expected) => {
    expect(parseTargetSpec(text)).toEqual(expected);
  });
});

describe('--targets-file', () => {
  it('lines as --target writes them, # comments and blank lines skipped, before the --target flags', () => {
    expect(parseTargetsFileText('# lab\n\na=127.0.0.1:7707  # first\n icmp://127.0.0.2 \n')).toEqual([
      { line: 3, text: 'a=127.0.0.1:7707' }, { line: 4, text: 'icmp://127.0.0.2' },
    ]);
  });
});
