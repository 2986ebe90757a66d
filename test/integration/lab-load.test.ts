/**
 * `rtprobe compare --load` through the CLI. As root with stress-ng installed: the lab up, a
 * compare under a CPU load, one with an I/O load inside rtp-pt and a flood into rtp-emu, and a
 * Ctrl-C mid-run; each time the JSON records the load and no load process (nor its temp dir)
 * is left. For anyone: a missing tool or a missing lab exits 2 before a single probe is sent.
 * Facts only: latencies under load are this machine's business.
 */
import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAB_EMU, LAB_PT, LAB_STATE_DIR } from '../../controller/lab/lab-layout.js';
import { groupMembers } from '../../controller/load/load-runner.js';
import type { LoadRecord } from '../../controller/load/load-spec.js';
import { findLabNetwork, networkNames } from '../../controller/lab/lab-system.js';
import { CLI_PATH, runCli } from '../helpers/cli.js';
import { skipNote, whySkip } from '../helpers/skip.js';

const isRoot = process.getuid?.() === 0;
const has = (tool: string): boolean => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
const labAlreadyUp = isRoot && (existsSync(LAB_STATE_DIR) || networkNames(findLabNetwork()).length > 0);
const skipReason = whySkip([!isRoot, 'not root'], [!has('stress-ng'), 'stress-ng is not installed (apt-get install stress-ng)'],
  [labAlreadyUp, 'a lab is already up on this machine']);
const noPing = whySkip([!has('ping'), 'needs iputils ping']);
const labUp = whySkip([labAlreadyUp, 'a lab is already up on this machine']);
const TARGETS = ['--target', `passthrough=${LAB_PT.guestAddress}`, '--target', `emulated=${LAB_EMU.guestAddress}`];

interface Report {
  started: string;
  targets: { name: string; sent: number; received: number }[];
  compare: { load: LoadRecord[] };
}

/** PIDs of processes whose name starts with one of `names` (from /proc/PID/comm). */
function processesNamed(names: string[]): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') continue;
      if (names.some((name) => comm.startsWith(name))) found.push(`${entry} ${comm}`);
    } catch { /* gone meanwhile */ }
  }
  return found;
}

function expectStopped(load: LoadRecord): void {
  expect(load.died, load.output.join('\n')).toBe(false);
  expect(load.stop_signals.length).toBeGreaterThan(0);
  expect(Date.parse(load.stopped)).toBeGreaterThan(Date.parse(load.started));
  expect(groupMembers(load.pid)).toEqual([]);
}

describe.skipIf(skipReason !== null)(`rtprobe compare --load in the lab (root, stress-ng)${skipNote(skipReason)}`, () => {
  beforeAll(async () => {
    const up = await runCli(['lab', 'up'], { timeoutMs: 60_000 });
    expect(up.code, up.stderr).toBe(0);
  });

  afterAll(async () => {
    const down = await runCli(['lab', 'down']);
    expect(down.code, down.stderr).toBe(0);
    expect(processesNamed(['stress-ng', 'hackbench'])).toEqual([]);
  });

  it('--load cpu: exit 0, all probes answered, the JSON records stress-ng on the host from before the run to after it, and no stress-ng remains', async () => {
    const result = await runCli(['compare', ...TARGETS, '--count', '200', '--load', 'cpu', '--json', '-'], { timeoutMs: 30_000 });
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as Report;
    expect(report.targets.map((t) => [t.sent, t.received])).toEqual([[200, 200], [200, 200]]);
    expect(report.compare.load).toHaveLength(1);
    const [load] = report.compare.load as [LoadRecord];
    expect(load).toMatchObject({ kind: 'cpu', where: 'host', target: null, died: false });
    expect(load.command.slice(0, 5)).toEqual(['stress-ng', '--cpu', '0', '--cpu-method', 'matrixprod']);
    expect(Date.parse(load.started)).toBeLessThanOrEqual(Date.parse(report.started));
    expectStopped(load);
    expect(result.stderr).toMatch(/^ {2}load {5}cpu on the host for \d+\.\d s: stress-ng --cpu 0 .*; stopped by SIGTERM/m);
    expect(processesNamed(['stress-ng'])).toEqual([]);
  });

  // One run for the rest (a CLI start costs ~1 s here): loads inside a guest and the flood, ended by Ctrl-C.
  it.skipIf(noPing !== null)(`Ctrl-C mid-run with --load io@pt --load flood: the run still reports; stress-ng ran inside rtp-pt, ping -f only into the emulated guest; both stopped, the temp dir removed, none left${skipNote(noPing)}`, async () => {
    const child = spawn(process.execPath, [CLI_PATH, 'compare', ...TARGETS, '--duration', '30s', '--load', 'io@pt', '--load', 'flood', '--json', '-']);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    const running = new Promise<void>((resolve) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (/\[\s*1 s\]/.test(stderr)) resolve(); // the first status line: probes are flowing
      });
    });
    const code = new Promise<number | null>((resolve) => child.on('close', resolve));
    await Promise.race([running, code]);
    child.kill('SIGINT');
    expect(await code, stderr).toBe(0);
    const report = JSON.parse(stdout) as Report;
    expect(report.targets[0]?.sent).toBeLessThan(3000);
    const [io, flood] = report.compare.load as [LoadRecord, LoadRecord];
    expect(io).toMatchObject({ kind: 'io', where: 'pt' });
    expect(io.command.slice(0, 6)).toEqual(['ip', 'netns', 'exec', 'rtp-pt', 'stress-ng', '--hdd']);
    const tempDir = io.command[io.command.indexOf('--temp-path') + 1] ?? '';
    expect(tempDir).toMatch(/rtprobe-load-/);
    expect(existsSync(tempDir)).toBe(false);
    expect(flood).toMatchObject({ kind: 'flood', where: 'emu', target: LAB_EMU.guestAddress, stop_signals: ['SIGINT'] });
    expect(flood.command).toEqual(['ping', '-f', '-q', '-w', expect.stringMatching(/^\d+$/), LAB_EMU.guestAddress]);
    expect(flood.output.join('\n')).toMatch(/\d+ packets transmitted/); // ping's own summary, after SIGINT
    expectStopped(io);
    expectStopped(flood);
    expect(processesNamed(['stress-ng', 'ping'])).toEqual([]);
  });
});

describe('rtprobe compare --load: refused before any probe is sent', () => {
  let socket: dgram.Socket;
  let port = 0;
  let received = 0;

  beforeAll(async () => {
    socket = dgram.createSocket('udp4');
    socket.on('message', () => { received += 1; });
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    port = socket.address().port;
  });

  afterAll(() => socket.close());

  const loopback = (): string[] => ['--target', `a=127.0.0.1:${port}`, '--target', `b=127.0.0.1:${port}`, '--count', '5'];

  it('a missing tool: one message naming the Debian package, exit 2, no probe', async () => {
    const result = await runCli(['compare', ...loopback(), '--load', 'cpu', '--load', 'hackbench'], { env: { PATH: '/nonexistent' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('apt-get install stress-ng rt-tests');
    expect(received).toBe(0);
  });

  it.skipIf(labUp !== null)(`a load in the lab without the lab (or without root): exit 2, no probe${skipNote(labUp)}`, async () => {
    const result = await runCli(['compare', ...loopback(), '--load', 'flood']);
    expect(result.code).toBe(2);
    // the first thing missing is named: the lab, root, or ping itself
    expect(result.stderr).toMatch(isRoot ? /needs the lab, and it is not up|iputils-ping/ : /needs root|iputils-ping/);
    expect(received).toBe(0);
  });
});
