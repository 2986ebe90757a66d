/**
 * `rtprobe lab up --qemu` through the CLI, as root: a real QEMU guest (TCG here) with an e1000
 * and a virtio-net NIC, the agent inside; a compare of both NICs accounts for every probe with
 * kernel stamps on the controller and the guest agent's turnaround for each NIC; `lab down`
 * leaves nothing (links, route, QEMU, state). A guest that never boots fails cleanly.
 * Skipped when a lab is already up here: the test does not take someone's lab down.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAB_QEMU_TAPS, LAB_RANGE, LAB_STATE_DIR } from '../../controller/lab/lab-layout.js';
import { findLabNetwork, findPidsByArgv, hasSafetyRoute, networkNames } from '../../controller/lab/lab-system.js';
import { findBusybox, findGuestKernel } from '../../controller/lab/qemu/guest-image.js';
import { guestNic } from '../../controller/lab/qemu/guest-nics.js';
import { QEMU_GUEST_NAME } from '../../controller/lab/qemu/qemu-argv.js';
import { deviceUsable } from '../../controller/lab/qemu/qemu-lab.js';
import { runCli } from '../helpers/cli.js';
import { skipNote, whySkip } from '../helpers/skip.js';

const isRoot = process.getuid?.() === 0;
const hasQemu = spawnSync('qemu-system-x86_64', ['--version']).status === 0;
const labAlreadyUp = isRoot && (existsSync(LAB_STATE_DIR) || networkNames(findLabNetwork()).length > 0);
const skipReason = whySkip(
  [!isRoot, 'needs root (TAP devices, routes)'],
  [!hasQemu, 'needs qemu-system-x86 (installed by .ci/run)'],
  [findGuestKernel() instanceof Error, 'needs linux-image-amd64 (installed by .ci/run)'],
  [findBusybox() instanceof Error, 'needs busybox-static (installed by .ci/run)'],
  [labAlreadyUp, 'a lab is already up on this machine (not taking it down)'],
);
/** TCG boots in ~15 s here; a loaded CI machine gets more. */
const UP_MS = 240_000;

function leftovers(): string[] {
  return [
    ...networkNames(findLabNetwork()),
    ...findPidsByArgv(['-name', QEMU_GUEST_NAME]).map((pid) => `QEMU pid ${pid}`),
    ...(hasSafetyRoute(LAB_RANGE) ? [`route unreachable ${LAB_RANGE}`] : []),
    ...(existsSync(LAB_STATE_DIR) ? [LAB_STATE_DIR] : []),
  ];
}

interface QemuTargetJson { name: string; model: string; address: string; ws_url: string; vhost: boolean | null; tap: string }
interface CompareTarget {
  name: string; sent: number; received: number; lost: number;
  timestamps: { tx: string; rx: string; agent_t2: string };
  agent?: {
    received: number; complete: boolean; turnaround_ns: { count: number; max: number | null };
    timer_ns: { count: number; max: number | null; interval_ns: number } | null;
  };
}

describe.skipIf(skipReason !== null)(`rtprobe lab up --qemu (root; a real guest under TCG)${skipNote(skipReason)}`, () => {
  let targets: QemuTargetJson[] = [];
  let tokenFile = '';

  beforeAll(async () => {
    const up = await runCli(['lab', 'up', '--qemu', '--accel', 'tcg'], { timeoutMs: UP_MS });
    expect(up.code, up.stderr).toBe(0);
    const status = await runCli(['lab', 'status', '--json']);
    const view = JSON.parse(status.stdout);
    targets = view.qemu.state.targets;
    tokenFile = view.qemu.state.token_file;
  }, UP_MS + 10_000);

  afterAll(async () => {
    const down = await runCli(['lab', 'down'], { timeoutMs: 30_000 });
    expect(down.code, down.stderr).toBe(0);
    expect(leftovers()).toEqual([]);
  }, 40_000);

  it('status: healthy, TCG, two NICs on their own TAPs, boot and agent-ready times, the safety route', async () => {
    const status = await runCli(['lab', 'status', '--json']);
    expect(status.code, status.stdout).toBe(0);
    const view = JSON.parse(status.stdout);
    expect(view).toMatchObject({ up: true, healthy: true, problems: [] });
    expect(view.qemu.running).toBe(true);
    expect(view.qemu.state.accel).toBe('tcg');
    expect(view.qemu.state.boot_s).toBeGreaterThan(0);
    expect(view.qemu.state.agent_ready_s).toBeGreaterThanOrEqual(view.qemu.state.boot_s);
    expect(existsSync(view.qemu.state.serial_log)).toBe(true);
    expect(targets.map((t) => [t.name, t.model, t.address, t.tap])).toEqual(
      (['e1000', 'virtio'] as const).map((m) => [guestNic(m).name, m, guestNic(m).guestAddress, guestNic(m).tap]));
    expect(targets.find((t) => t.model === 'virtio')?.vhost).toBe(existsSync('/dev/vhost-net') ? expect.any(Boolean) : false);
    expect(targets.find((t) => t.model === 'e1000')?.vhost).toBeNull();
    expect(view.network.rootLinks.sort()).toEqual(LAB_QEMU_TAPS.filter((t) => t !== 'rtp-q-rtl8139').sort());
    expect(hasSafetyRoute(LAB_RANGE)).toBe(true);
    const text = await runCli(['lab', 'status']);
    expect(text.stdout).toContain('rtprobe compare --target qemu-virtio=10.254.22.6 --target qemu-e1000=10.254.22.2');
  });

  it('compare of 500 probes per NIC with both agent streams: every probe accounted, kernel stamps, the guest turnaround of each NIC', async () => {
    const [e1000, virtio] = [targets.find((t) => t.model === 'e1000'), targets.find((t) => t.model === 'virtio')];
    const compared = await runCli(['compare', '--target', `${virtio?.name}=${virtio?.address}`, '--target', `${e1000?.name}=${e1000?.address}`,
      '--agent-ws', `${virtio?.name}=${virtio?.ws_url}`, '--agent-ws', `${e1000?.name}=${e1000?.ws_url}`, '--agent-token-file', tokenFile,
      '--count', '500', '--json', '-', '--quiet'], { timeoutMs: 90_000 });
    expect(compared.code, compared.stderr).toBe(0);
    const report = JSON.parse(compared.stdout) as { targets: CompareTarget[] };
    expect(report.targets.map((t) => t.name)).toEqual(['qemu-virtio', 'qemu-e1000']);
    for (const t of report.targets) {
      expect(t.sent, t.name).toBe(500);
      expect(t.received + t.lost, t.name).toBe(500);
      expect(t.received, t.name).toBeGreaterThan(490);
      expect(t.timestamps, t.name).toMatchObject({ tx: 'kernel', rx: 'kernel', agent_t2: 'kernel' });
      expect(t.agent?.complete, t.name).toBe(true);
      expect(t.agent?.received, t.name).toBe(500);
      expect(t.agent?.turnaround_ns.count, t.name).toBe(500);
      expect(t.agent?.turnaround_ns.max, t.name).toBeGreaterThan(0);
      // the guest agent runs its timer (guestAgentTimerFlags): every 10 ms under TCG, for the 5 s of the run
      expect(t.agent?.timer_ns?.interval_ns, t.name).toBe(10_000_000);
      expect(t.agent?.timer_ns?.count, t.name).toBeGreaterThan(200);
      expect(t.agent?.timer_ns?.max, t.name).toBeGreaterThan(0);
    }
  }, 100_000);

  it('compare --load cpu@guest: the load runs in the guest through its exec service, is stopped with the run, and the guest answers after', async () => {
    const [e1000, virtio] = [targets.find((t) => t.model === 'e1000'), targets.find((t) => t.model === 'virtio')];
    const compared = await runCli(['compare', '--target', `${virtio?.name}=${virtio?.address}`, '--target', `${e1000?.name}=${e1000?.address}`,
      '--count', '300', '--load', 'cpu@guest', '--json', '-', '--quiet'], { timeoutMs: 90_000 });
    expect(compared.code, compared.stderr).toBe(0);
    const load = (JSON.parse(compared.stdout) as { compare: { load: { kind: string; where: string; died: boolean; stop_signals: string[]; command: string[] }[] } }).compare.load;
    expect(load).toHaveLength(1);
    expect(load[0]).toMatchObject({ kind: 'cpu', where: 'guest', died: false, stop_signals: ['SIGTERM'] });
    expect(load[0]?.command).toContain('guest-exec');
    const after = await runCli(['run', '--target', `${e1000?.address}`, '--count', '50', '--json', '-', '--quiet'], { timeoutMs: 60_000 });
    expect(after.code, after.stderr).toBe(0);
    expect((JSON.parse(after.stdout) as { targets: CompareTarget[] }).targets[0]?.received).toBe(50);
  }, 100_000);
});

describe.skipIf(skipReason !== null)(`rtprobe lab up --qemu: a guest that does not come up (root)${skipNote(skipReason)}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtprobe-badkernel-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a kernel that is not one: exit 2, QEMU\'s own words and the serial log in the error, everything removed', async () => {
    const kernel = join(dir, 'vmlinuz-garbage');
    writeFileSync(kernel, Buffer.alloc(64 * 1024, 0x5a));
    const up = await runCli(['lab', 'up', '--qemu', '--accel', 'tcg', '--boot-timeout', '30s'],
      { env: { RTPROBE_LAB_GUEST_KERNEL: kernel }, timeoutMs: 90_000 });
    expect(up.code).toBe(2);
    expect(up.stderr).toMatch(/QEMU \(pid \d+\) exited before|did not happen within/);
    expect(up.stderr).toContain('serial console');
    expect(up.stderr).toContain('everything it made was removed again');
    expect(leftovers()).toEqual([]);
  }, 100_000);

  const skipKvm = whySkip([!deviceUsable('/dev/kvm'), 'needs a /dev/kvm that opens']);
  it.skipIf(skipKvm !== null)(`--accel auto where KVM does not start the guest: it says so, falls back to TCG, and only then fails${skipNote(skipKvm)}`, async () => {
    // The kernel that is not one fails under KVM too (a /dev/kvm that opens but cannot run a
    // guest, as with nested KVM here, fails the same way): the second attempt is TCG's.
    const kernel = join(dir, 'vmlinuz-garbage-auto');
    writeFileSync(kernel, Buffer.alloc(64 * 1024, 0x5a));
    const up = await runCli(['lab', 'up', '--qemu', '--boot-timeout', '30s'], { env: { RTPROBE_LAB_GUEST_KERNEL: kernel }, timeoutMs: 150_000 });
    expect(up.code).toBe(2);
    const said = up.stdout + up.stderr;
    expect(said).toMatch(/QEMU pid \d+ \(kvm\)/);
    expect(said).toMatch(/KVM did not start the guest \(.*\): --accel auto falls back to TCG/);
    expect(said).toMatch(/QEMU pid \d+ \(tcg: software emulation/);
    expect(up.stderr).toContain('everything it made was removed again');
    expect(leftovers()).toEqual([]);
  }, 160_000);

  it('a boot slower than --boot-timeout: exit 2 naming the wait and quoting the console, everything removed', async () => {
    const up = await runCli(['lab', 'up', '--qemu', '--accel', 'tcg', '--boot-timeout', '1s'], { timeoutMs: 90_000 });
    expect(up.code).toBe(2);
    expect(up.stderr).toMatch(/did not happen within 1 s/);
    expect(up.stderr).toContain('serial console (/run/rtprobe-lab/qemu-serial.log)');
    expect(up.stderr).toContain('everything it made was removed again');
    expect(leftovers()).toEqual([]);
  }, 100_000);
});

describe('rtprobe lab up --qemu: bad flags', () => {
  it.each([
    [['lab', 'up', '--qemu', '--nics', 'e1000,ne2k'], "--nics: 'ne2k' is not a NIC model"],
    [['lab', 'up', '--qemu', '--nics', 'virtio,virtio'], '--nics: virtio is given twice'],
    [['lab', 'up', '--qemu', '--accel', 'hvf'], "--accel: 'hvf' is not auto, kvm or tcg"],
    [['lab', 'up', '--qemu', '--guest-cpus', '0'], '--guest-cpus: 0 is out of range'],
    [['lab', 'up', '--qemu', '--guest-mem', '100M'], '--guest-mem: 100M is below 256M'],
    [['lab', 'up', '--qemu', '--stall', '50ms@1s'], 'device model knobs belong to the namespace lab'],
    [['lab', 'up', '--nics', 'e1000'], '--nics: only with --qemu'],
  ])('%j → exit 2 naming %s', async (args, words) => {
    const result = await runCli(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(words);
  });
});
