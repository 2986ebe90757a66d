import { cpus } from 'node:os';
import { describe, expect, it } from 'vitest';
import { normalizeArgv, parseFlags } from '../../../shared/cli/command-io.js';
import { parseHostPort } from '../../../shared/cli/host-port.js';
import { parseLossRatio } from '../../../shared/cli/parse-values.js';
import { privilegedPortHint } from '../../../shared/cli/privileged-port.js';
import { parseRunConfig, RUN_FLAG_SPEC, type RunFlags } from '../../../controller/engine/run-config.js';

/** argv → parseFlags → parseRunConfig, as `rtprobe run` does; the message of the first problem. */
function runError(argv: string[]): string {
  const parsed = parseFlags<RunFlags>(argv, RUN_FLAG_SPEC);
  if (parsed instanceof Error) return parsed.message;
  const config = parseRunConfig(parsed.flags);
  return config instanceof Error ? config.message : 'no error';
}

describe('bad values are named as such (issue 18)', () => {
  it.each([
    [['--target', '127.0.0.1', '--rate', '-5'], "--rate: '-5' must be above 0 Hz"],
    [['--target', '127.0.0.1', '--duration', '-3s'], "--duration: '-3s' must be above 0"],
    [['--target', '127.0.0.1', '--count', '-1'], '--count: -1 is out of range'],
    [['--target', '127.0.0.1', '--cpu', '-2'], '--cpu: -2 is out of range 0..4095'],
    [['--target', '300.1.1.1'], "--target: '300.1.1.1' is not a valid IPv4 address"],
    [['--target', 'g=1.2.3:7707'], "--target: '1.2.3' is not a valid IPv4 address"],
    [['--target', '127.0.0.1', '--cpu', '999'], `--cpu: CPU 999 does not exist (this machine has CPUs 0..${cpus().length - 1})`],
    [['--target', '127.0.0.1', '--max-rtt', '-1ms'], "--max-rtt: '-1ms' must be above 0"],
    [['--target', '127.0.0.1', '--max-rtt', '0'], '--max-rtt: must be above 0'],
    [['--target', '127.0.0.1', '--max-loss', '-1%'], '--max-loss: must be 0 or above'],
    [['--target', '127.0.0.1', '--max-loss', '150%'], "--max-loss: '150%' is not a loss limit"],
    [['--target', '127.0.0.1', '--json', '/nonexistent-dir-18/x.json'], "--json: the directory '/nonexistent-dir-18' does not exist (ENOENT)"],
    [['--target', '127.0.0.1', '--json', '/'], "--json: '/' is a directory; give a file name"],
  ])('%j → %s', (argv, message) => {
    expect(runError(argv).startsWith(message), runError(argv)).toBe(true);
  });

  it('a dotted host name is still a host name (resolved later), a valid address stays one', () => {
    expect(parseHostPort('--target', 'guest1.lab:7707', 7707)).toEqual({ host: 'guest1.lab', port: 7707 });
    expect(parseHostPort('--target', '10.0.0.255', 7707)).toEqual({ host: '10.0.0.255', port: 7707 });
  });

  it('the verdict limits parse: TIME, PERCENT or a ratio, 0 loss allowed', () => {
    const parsed = parseFlags<RunFlags>(['--target', '127.0.0.1', '--max-rtt', '500us', '--max-p99', '200us', '--max-loss', '0'], RUN_FLAG_SPEC);
    if (parsed instanceof Error) throw parsed;
    const config = parseRunConfig(parsed.flags);
    if (config instanceof Error) throw config;
    expect(config.verdict).toEqual({ maxRttNs: 500_000, maxP99Ns: 200_000, maxLossRatio: 0 });
    expect(parseLossRatio('--max-loss', '0.1%', true)).toBeCloseTo(0.001, 12);
    expect(parseLossRatio('--max-loss', '0.001', true)).toBeCloseTo(0.001, 12);
    expect(parseLossRatio('--alert-loss', '0', false)).toBeInstanceOf(Error);
  });

  it('a negative number after a flag that takes a value is its value; after a boolean it is not', () => {
    expect(normalizeArgv(['--rate', '-5', '--quiet', '--count', '3'], RUN_FLAG_SPEC)).toEqual(['--rate=-5', '--quiet', '--count', '3']);
    expect(normalizeArgv(['--quiet', '-5'], RUN_FLAG_SPEC)).toEqual(['--quiet', '-5']);
  });

  it('a bare --json (last, or before another flag) is --json -; a value stays a value', () => {
    expect(normalizeArgv(['--json'], RUN_FLAG_SPEC)).toEqual(['--json=-']);
    expect(normalizeArgv(['--json', '--quiet'], RUN_FLAG_SPEC)).toEqual(['--json=-', '--quiet']);
    expect(normalizeArgv(['--json', 'out.json', '--quiet'], RUN_FLAG_SPEC)).toEqual(['--json', 'out.json', '--quiet']);
    expect(normalizeArgv(['--json', '-'], RUN_FLAG_SPEC)).toEqual(['--json', '-']);
  });

  it('EACCES below port 1024 names CAP_NET_BIND_SERVICE; other errors and ports get no hint', () => {
    expect(privilegedPortHint('EACCES', 80)).toContain('CAP_NET_BIND_SERVICE');
    expect(privilegedPortHint('EACCES', 7707)).toBe('');
    expect(privilegedPortHint('EADDRINUSE', 80)).toBe('');
  });
});
