/**
 * Observer effect against a real guest (issue 15's own measurement): `rtprobe lab up --qemu`
 * boots a QEMU guest (TCG here, an emulated e1000 on a TAP), and rtprobe's ICMP mode (kernel
 * stamps) and `fping -C N -p 10` probe its e1000 address at 100 Hz in alternating pairs —
 * once with QEMU and the probers free to use every CPU, once with all of them on CPU 0
 * (`taskset`), where everything the rig does between a send and the answer delays the guest.
 * The lab is this bench's own (`lab up` refuses while another lab, or its leftovers, exist)
 * and is taken down afterwards, its route and TAPs with it. Root only.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { findExecutable } from './find-exe.js';
import { fixed, formatTable, us } from './format-table.js';
import { qemuPath } from './bench-path.js';
import { fpingArgs, fpingRound, rtprobeRound, type ObserverPair, type ToolRound } from './observer-effect.js';
import { p50Ratio, stampsLine, summarizeRatios, type P50Pair, type RatioSummary } from './observer-summary.js';
import { runToEnd, showCommand, tail } from './proc.js';
import { CLI, REPO_ROOT } from './rtprobe-runner.js';

export interface QemuPlacement {
  /** 'free': no pinning; 'one CPU': QEMU, rtprobe and fping all on CPU 0 */
  placement: 'free' | 'one CPU';
  pairs: ObserverPair[];
  summary: RatioSummary;
}

export interface QemuObserverResult {
  guest: string;
  rateHz: number;
  probes: number;
  placements: QemuPlacement[];
  rtprobeCommand: string;
  fpingCommand: string;
}

const RATE_HZ = 100;

/** Why this row cannot run here, or null. */
export function qemuObserverSkipReason(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (TAPs, raw ICMP sockets)';
  if (!findExecutable('qemu-system-x86_64')) return 'qemu-system-x86 not installed';
  if (!existsSync('/boot') || !readdirSync('/boot').some((f) => f.startsWith('vmlinuz-'))) return 'no kernel in /boot (linux-image-amd64)';
  if (!findExecutable('busybox')) return 'busybox-static not installed';
  if (!findExecutable('fping')) return 'fping not installed';
  if (!findExecutable('taskset')) return 'taskset (util-linux) not found';
  return null;
}

const lab = (args: string[], timeoutS: number) => runToEnd(process.execPath, [CLI, 'lab', ...args], { timeoutS, cwd: REPO_ROOT });

interface LabGuest { address: string; qemuPid: number }

function readLabGuest(statusJson: string): LabGuest | Error {
  try {
    const status = JSON.parse(statusJson) as { qemu?: { state?: { qemu?: { pid?: number }; targets?: Array<{ model?: string; address?: string }> } } };
    const state = status.qemu?.state;
    const e1000 = state?.targets?.find((t) => t.model === 'e1000');
    if (!e1000?.address || !state?.qemu?.pid) return new Error('lab status names no e1000 target or QEMU pid');
    return { address: e1000.address, qemuPid: state.qemu.pid };
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}

/** Sets the CPU list of every thread of `pid`; returns the list it had. */
function setAffinity(pid: number, cpus: string): string {
  const before = /list: (.*)$/m.exec(execFileSync('taskset', ['-p', '-c', String(pid)], { encoding: 'utf8' }))?.[1]?.trim() ?? '';
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
  return before;
}

const p50s = (p: ObserverPair): P50Pair => ({ rtprobeP50Ns: p.rtprobe.p50Ns, fpingP50Ns: p.fping.p50Ns });

export async function measureQemuObserver(o: { pairs: number; probes: number; tmpDir: string; log: (s: string) => void }): Promise<QemuObserverResult | Error> {
  // `lab up` refuses while a lab (or what one left behind) exists, and removes what it made
  // when it fails: only a lab this bench brought up, or one whose `up` it had to kill, is
  // taken down again. Never someone else's.
  const up = await lab(['up', '--qemu'], 300);
  if (up.code !== 0 && !up.timedOut) return new Error(`rtprobe lab up --qemu failed (exit ${up.code ?? up.signal}): ${tail(up)}`);
  try {
    if (up.timedOut) return new Error(`rtprobe lab up --qemu did not finish in 300 s: ${tail(up)}`);
    const guest = readLabGuest((await lab(['status', '--json', '-'], 30)).stdout);
    if (guest instanceof Error) return guest;
    const res: QemuObserverResult = { guest: `${guest.address} (QEMU e1000, lab up --qemu)`, rateHz: RATE_HZ, probes: o.probes, placements: [],
      rtprobeCommand: '', fpingCommand: showCommand('fping', fpingArgs(guest.address, o.probes), {}) };
    for (const placement of ['free', 'one CPU'] as const) {
      // One CPU: QEMU's threads, and the probers through this process's own mask, which
      // children inherit; both masks are restored afterwards.
      const restore = placement === 'one CPU' ? [setAffinity(guest.qemuPid, '0'), setAffinity(process.pid, '0')] : null;
      const pairs: ObserverPair[] = [];
      try {
        for (let i = 0; i < o.pairs; i++) {
          const first = i % 2 === 0 ? 'rtprobe' : 'fping';
          let r: ToolRound = { sent: 0, received: 0, stamps: '?' };
          let f: ToolRound = { sent: 0, received: 0, stamps: '?' };
          const runR = async (): Promise<void> => {
            const x = await rtprobeRound(qemuPath(guest.address), o.probes / RATE_HZ, join(o.tmpDir, `qemu-observer-${placement === 'free' ? 'free' : 'pinned'}-${i}.json`));
            r = x.round;
            res.rtprobeCommand = x.command;
          };
          const runF = async (): Promise<void> => { f = await fpingRound(guest.address, o.probes); };
          for (const step of first === 'rtprobe' ? [runR, runF] : [runF, runR]) await step();
          const p: ObserverPair = { pair: i + 1, first, rtprobe: r, fping: f };
          const ratio = p50Ratio(p50s(p));
          if (ratio !== undefined) p.ratio = ratio;
          pairs.push(p);
          o.log(`  ${placement}, pair ${i + 1} (${first} first): rtprobe p50 ${us(p.rtprobe.p50Ns)} µs, fping p50 ${us(p.fping.p50Ns)} µs, ratio ${fixed(p.ratio, 2)}` +
            [p.rtprobe.note, p.fping.note].filter(Boolean).map((n) => `\n  ${n}`).join(''));
        }
      } finally {
        if (restore) {
          setAffinity(guest.qemuPid, restore[0] ?? '0-1023');
          setAffinity(process.pid, restore[1] ?? '0-1023');
        }
      }
      res.placements.push({ placement, pairs, summary: summarizeRatios(pairs.map(p50s)) });
    }
    return res;
  } finally {
    const down = await lab(['down'], 120);
    if (down.code !== 0) o.log(`rtprobe lab down failed (exit ${down.code ?? down.signal}): ${tail(down)}`);
  }
}

export function renderQemuObserver(r: QemuObserverResult): string {
  const rows = r.placements.flatMap((pl) => pl.pairs.map((p) => [pl.placement, String(p.pair), p.first, us(p.rtprobe.p50Ns), `${p.rtprobe.received}/${p.rtprobe.sent}`,
    us(p.fping.p50Ns), `${p.fping.received}/${p.fping.sent}`, fixed(p.ratio, 2)]));
  const table = formatTable(['CPUs', 'pair', 'first', 'rtprobe p50 µs', 'rcvd/sent', 'fping p50 µs', 'rcvd/sent', 'rtprobe / fping'], rows, [1]);
  const medians = r.placements.map((pl) => `${pl.placement}: median ${fixed(pl.summary.median, 2)} over ${pl.summary.ratios.filter((x) => x !== undefined).length} pair(s)`).join('; ');
  return `${table}\nrtprobe/fping p50 against ${r.guest}, ${r.probes} probes at ${r.rateHz} Hz a round: ${medians}` +
    `\n${stampsLine(r.placements.flatMap((pl) => pl.pairs))}` +
    '\n  rtprobe\'s kernel stamps bracket a shorter interval than fping\'s user-space send stamp: below 1 is expected of a rig that does not delay the answer; the guest\'s own p50 moves by ~200 µs between rounds under TCG.' +
    `\n  ${r.rtprobeCommand}\n  ${r.fpingCommand}`;
}
