/**
 * `rtprobe lab up|down|status` through the CLI, as root: both agents answer, a stall in the
 * device model shows on the emulated path only, `down` is idempotent and cleans up after a
 * lost state file; nothing of the lab (its namespaces, interfaces, processes, state) remains.
 * Skipped when a lab is already up on this machine: the test does not take someone's lab down.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAB_EMU, LAB_INTERFACES, LAB_NAMESPACES, LAB_PT, LAB_RANGE, LAB_STATE_DIR } from '../../controller/lab/lab-layout.js';
import { findDeviceModelPids, findLabNetwork, hasSafetyRoute, isAlive, networkNames } from '../../controller/lab/lab-system.js';
import { runCli } from '../helpers/cli.js';
import { skipNote, whySkip } from '../helpers/skip.js';

const isRoot = process.getuid?.() === 0;
const hasSetpriv = spawnSync('setpriv', ['--version']).status === 0;
// Seen by any user (ip netns/link list without root): a non-root run must not expect someone's lab gone either.
const labAlreadyUp = existsSync(LAB_STATE_DIR) || networkNames(findLabNetwork()).length > 0;
const skipReason = whySkip([!isRoot, 'needs root (network namespaces and TAP devices)'],
  [labAlreadyUp, 'a lab is already up on this machine (not taking it down)']);

interface TargetReport { name: string; sent: number; received: number; rtt_ns: { max: number } }

async function run(args: string[]): Promise<TargetReport[]> {
  const result = await runCli(['run', ...args, '--json', '-', '--quiet'], { timeoutMs: 60_000 });
  expect(result.code, result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as { targets: TargetReport[] }).targets;
}

function labLeftovers(): string[] {
  const names = networkNames(findLabNetwork());
  const models = findDeviceModelPids().map((pid) => `device model pid ${pid}`);
  return [...names, ...models, ...(existsSync(LAB_STATE_DIR) ? [LAB_STATE_DIR] : []),
    ...(hasSafetyRoute(LAB_RANGE) ? [`route unreachable ${LAB_RANGE}`] : [])];
}

describe.skipIf(skipReason !== null)(`rtprobe lab (root)${skipNote(skipReason)}`, () => {
  let pids: number[] = [];

  beforeAll(async () => {
    const up = await runCli(['lab', 'up', '--stall', '50ms@1s'], { timeoutMs: 60_000 });
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toContain('lab is up');
  });

  afterAll(async () => {
    const down = await runCli(['lab', 'down']);
    expect(down.code, down.stderr).toBe(0);
    expect(labLeftovers()).toEqual([]);
    for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
  });

  it('status: healthy, three processes, both namespaces and their four interfaces, the targets for compare', async () => {
    const status = await runCli(['lab', 'status', '--json']);
    expect(status.code, status.stdout).toBe(0);
    const view = JSON.parse(status.stdout);
    expect(view).toMatchObject({ up: true, healthy: true, problems: [] });
    expect(view.processes.map((p: { role: string }) => p.role).sort()).toEqual(['agent-emu', 'agent-pt', 'device-model']);
    pids = view.processes.map((p: { pid: number }) => p.pid);
    expect(view.network.namespaces.sort()).toEqual([...LAB_NAMESPACES].sort());
    expect([...view.network.rootLinks, ...view.network.nsLinks.map((l: { link: string }) => l.link)].sort()).toEqual([...LAB_INTERFACES].sort());
    expect(view.device_model.stats.running).toBe(true);
    expect(hasSafetyRoute(LAB_RANGE), 'the unreachable route while the lab is up').toBe(true);
    const text = await runCli(['lab', 'status']);
    expect(text.stdout).toContain(`rtprobe compare --target passthrough=${LAB_PT.guestAddress} --target emulated=${LAB_EMU.guestAddress}`);
    expect(text.stdout).toContain('--stall 50ms@1s');
  });

  it('both agents answer through the CLI: 50 of 50 each', async () => {
    const targets = await run(['--target', `pt=${LAB_PT.guestAddress}`, '--target', `emu=${LAB_EMU.guestAddress}`, '--count', '50']);
    expect(targets.map((t) => [t.name, t.sent, t.received])).toEqual([['pt', 50, 50], ['emu', 50, 50]]);
  });

  // A stall adds at most the rest of itself to a probe (RTT <= base + stall), and this VM's
  // own pauses give the kernel-only path maxima of 8-14 ms: a 5 ms stall cannot be told from
  // noise here. 50 ms can: at 100 Hz the first probe caught by each stall waits 40-50 ms.
  it('compare with a 50ms@1s stall for 5 s: the emulated max exceeds 40 ms, the passthrough max does not; the HTML holds both', async () => {
    const before = JSON.parse((await runCli(['lab', 'status', '--json'])).stdout).device_model.stats.stalls as number;
    const html = join(mkdtempSync(join(tmpdir(), 'rtprobe-lab-')), 'compare.html');
    const compared = await runCli(['compare', '--target', `passthrough=${LAB_PT.guestAddress}`, '--target', `emulated=${LAB_EMU.guestAddress}`,
      '--duration', '5s', '--html', html, '--json', '-', '--quiet'], { timeoutMs: 60_000 });
    expect(compared.code, compared.stderr).toBe(0);
    const [pt, emu] = JSON.parse(compared.stdout).targets as TargetReport[];
    const page = readFileSync(html, 'utf8');
    expect(page.match(/<svg/g)?.length).toBeGreaterThanOrEqual(2);
    expect(page).toContain('passthrough');
    expect(page).toContain('emulated');
    const after = JSON.parse((await runCli(['lab', 'status', '--json'])).stdout).device_model.stats.stalls as number;
    console.log(`stalls during the run ${after - before}; max RTT pt ${pt?.rtt_ns.max} ns, emu ${emu?.rtt_ns.max} ns`);
    expect(after - before).toBeGreaterThanOrEqual(4);
    expect(emu?.rtt_ns.max).toBeGreaterThan(40_000_000);
    expect(pt?.rtt_ns.max).toBeLessThan(40_000_000);
  });

  it('up while up: says so, exit 2', async () => {
    const again = await runCli(['lab', 'up']);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('a lab is already up');
  });
});

describe.skipIf(skipReason !== null)(`rtprobe lab down (root): idempotent, and without a state file${skipNote(skipReason)}`, () => {
  afterAll(async () => {
    await runCli(['lab', 'down']);
    expect(labLeftovers()).toEqual([]);
  });

  it('down twice: both exit 0, the second has nothing to remove', async () => {
    const first = await runCli(['lab', 'down']);
    const second = await runCli(['lab', 'down']);
    expect([first.code, second.code]).toEqual([0, 0]);
    expect(second.stdout).toContain('nothing to remove');
  });

  it('a lost state file (a crashed up): down still ends the processes and removes every name', async () => {
    const up = await runCli(['lab', 'up'], { timeoutMs: 60_000 });
    expect(up.code, up.stderr).toBe(0);
    const view = JSON.parse((await runCli(['lab', 'status', '--json'])).stdout);
    const pids = view.processes.map((p: { pid: number }) => p.pid) as number[];
    expect(pids).toHaveLength(3);
    spawnSync('rm', ['-rf', LAB_STATE_DIR]);
    const upAgain = await runCli(['lab', 'up']);
    expect(upAgain.code).toBe(2);
    expect(upAgain.stderr).toContain('leftovers of an earlier lab');
    const down = await runCli(['lab', 'down']);
    expect(down.code, down.stderr).toBe(0);
    expect(labLeftovers()).toEqual([]);
    for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
  });
});

describe('rtprobe lab: bad input', () => {
  it.each([
    [['lab', 'up', '--stall', '5ms'], '--stall'],
    [['lab', 'up', '--stall', '2s@1s'], 'shorter than its period'],
    [['lab', 'up', '--delay', 'gauss:2ms'], '--delay'],
    [['lab', 'up', '--drop-every', '0'], '--drop-every'],
    [['lab', 'up', '--distort', 'sideways'], '--distort'],
    [['lab', 'sideways'], 'unknown subcommand'],
  ])('%j → exit 2 naming %s', async (args, words) => {
    const result = await runCli(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(words);
    if (!labAlreadyUp) expect(labLeftovers()).toEqual([]);
  });

  it.skipIf(skipReason !== null)(`no 'ip' command: a clear error naming iproute2, exit 2, nothing made${skipNote(skipReason)}`, async () => {
    const result = await runCli(['lab', 'up'], { env: { PATH: '/nonexistent' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("the 'ip' command is missing: install iproute2");
    expect(labLeftovers()).toEqual([]);
  });

  const asNobody = whySkip([!isRoot, 'needs root to switch to uid 65534'], [!hasSetpriv, 'needs setpriv (util-linux)']);
  it.skipIf(asNobody !== null)(`not root: one message saying it needs root, exit 2${skipNote(asNobody)}`, () => {
    for (const sub of ['up', 'down']) {
      const result = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--',
        process.execPath, 'shared/cli/rtprobe.js', 'lab', sub], { encoding: 'utf8', env: { ...process.env, HOME: '/tmp' } });
      expect(result.status, result.stderr).toBe(2);
      expect(result.stderr.trim()).toBe(`rtprobe lab ${sub}: needs root (it creates network namespaces and TAP devices); run it with sudo`);
    }
  });
});
