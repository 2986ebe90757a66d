/**
 * Observer effect (issue 15): does the rig delay the answer it measures? ICMP echo at 100 Hz
 * from the bench's client namespace to its "guest" namespace (whose kernel answers), while a
 * second process competes for the CPUs: `rtprobe run --target icmp://GUEST --timestamps kernel`
 * against `fping -C N -p 10 -q GUEST`, in alternating pairs of rounds. Per pair: both p50s and
 * rtprobe/fping; over the pairs: the median ratio. Root only (namespaces, raw sockets).
 */
import { join } from 'node:path';
import { vethPath, type BenchPath } from './bench-path.js';
import { findExecutable } from './find-exe.js';
import { fixed, formatTable, us } from './format-table.js';
import type { VethPair } from './netns.js';
import { p50Ratio, stampsLine, summarizeRatios, type P50Pair, type RatioSummary } from './observer-summary.js';
import { parseFpingCount } from './peers/fping-parse.js';
import { runToEnd, showCommand, startService, tail } from './proc.js';
import { runController } from './rtprobe-runner.js';
import { percentilesOf } from './stats.js';

export interface ToolRound {
  p50Ns?: number;
  sent: number;
  received: number;
  /** send slots rtprobe could not keep (fping reports none) */
  missedSendSlots?: number;
  /** who stamped: rtprobe's report; fping's send is user space, its receive SO_TIMESTAMPNS */
  stamps: string;
  note?: string;
}

export interface ObserverPair {
  pair: number;
  first: 'rtprobe' | 'fping';
  rtprobe: ToolRound;
  fping: ToolRound;
  ratio?: number;
}

export interface ObserverResult {
  guest: string;
  load: string;
  rateHz: number;
  seconds: number;
  pairs: ObserverPair[];
  summary: RatioSummary;
  rtprobeCommand: string;
  fpingCommand: string;
}

const RATE_HZ = 100;
/** two hogs at half load each: the rig shares both CPUs with something that wakes and sleeps */
const LOAD_ARGS = ['--cpu', '2', '--cpu-load', '50'];

/** Why this row cannot run here, or null. */
export function observerSkipReason(pair: VethPair | undefined): string | null {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, raw ICMP sockets)';
  if (!pair) return 'no guest namespace (it comes with the veth path: --paths veth, root, iproute2)';
  if (!findExecutable('fping')) return 'fping not installed (apt-get install fping)';
  if (!findExecutable('stress-ng')) return 'stress-ng not installed (apt-get install stress-ng)';
  return null;
}

/** rtprobe's ICMP mode (kernel stamps) to the path's guest for `seconds` at 100 Hz: its p50 as a ToolRound. */
export async function rtprobeRound(path: BenchPath, seconds: number, jsonFile: string): Promise<{ round: ToolRound; command: string }> {
  const c = await runController({ path, agent: null, targets: 1, rateHz: RATE_HZ, seconds, mode: 'kernel', jsonFile, timeoutS: seconds * 2 + 20 });
  const t = c.report?.targets[0];
  const round: ToolRound = { sent: t?.sent ?? 0, received: t?.received ?? 0, stamps: t ? `tx ${t.stampsTx}, rx ${t.stampsRx}` : '?' };
  if (t) round.missedSendSlots = t.missedSendSlots;
  if (t?.rtt && t.rtt.count > 0) round.p50Ns = t.rtt.p50;
  else round.note = `no RTTs (exit ${c.finished.code ?? c.finished.signal}): ${c.command}\n${tail(c.finished)}`;
  return { round, command: c.command };
}

export function fpingArgs(address: string, probes: number): string[] {
  return ['-C', String(probes), '-p', String(1000 / RATE_HZ), '-q', address];
}

/** `fping -C probes -p 10` to `address` (from `netns`, if given): its p50 as a ToolRound. */
export async function fpingRound(address: string, probes: number, netns?: string): Promise<ToolRound> {
  const args = fpingArgs(address, probes);
  const where = netns === undefined ? {} : { netns };
  const f = await runToEnd('fping', args, { ...where, timeoutS: (2 * probes) / RATE_HZ + 20 });
  const row = parseFpingCount(f.stderr).find((r) => r.host === address);
  const round: ToolRound = { sent: row ? row.rttNs.length + row.lost : 0, received: row?.rttNs.length ?? 0, stamps: 'tx user, rx kernel (SO_TIMESTAMPNS)' };
  // the same HdrHistogram as every other peer row: p50 = its bucket's highest equivalent value
  if (row && row.rttNs.length > 0) round.p50Ns = percentilesOf(row.rttNs).p50;
  else round.note = `no RTTs (exit ${f.code ?? f.signal}): ${showCommand('fping', args, where)}\n${tail(f)}`;
  return round;
}

const p50s = (p: ObserverPair): P50Pair => ({ rtprobeP50Ns: p.rtprobe.p50Ns, fpingP50Ns: p.fping.p50Ns });

export async function measureObserverEffect(
  pair: VethPair,
  o: { pairs: number; seconds: number; tmpDir: string; log: (s: string) => void },
): Promise<ObserverResult> {
  const total = o.pairs * 2 * (o.seconds + 5) + 60;
  const load = await startService('stress-ng', [...LOAD_ARGS, '--timeout', `${Math.ceil(total)}s`], { timeoutS: total + 10, ready: /dispatching hogs/, readyTimeoutS: 20 });
  const res: ObserverResult = {
    guest: `${pair.guestAddr} in ${pair.guest} (its kernel answers), probed from ${pair.ctl}`,
    load: `stress-ng ${LOAD_ARGS.join(' ')}`,
    rateHz: RATE_HZ,
    seconds: o.seconds,
    pairs: [],
    summary: { ratios: [] },
    rtprobeCommand: '',
    fpingCommand: showCommand('fping', fpingArgs(pair.guestAddr, RATE_HZ * o.seconds), { netns: pair.ctl }),
  };
  try {
    for (let i = 0; i < o.pairs; i++) {
      const first = i % 2 === 0 ? 'rtprobe' : 'fping';
      let r: ToolRound | undefined;
      let f: ToolRound | undefined;
      const runR = async (): Promise<void> => {
        const x = await rtprobeRound(vethPath(pair), o.seconds, join(o.tmpDir, `observer-${i}.json`));
        r = x.round;
        res.rtprobeCommand = x.command;
      };
      const runF = async (): Promise<void> => { f = await fpingRound(pair.guestAddr, RATE_HZ * o.seconds, pair.ctl); };
      for (const step of first === 'rtprobe' ? [runR, runF] : [runF, runR]) await step();
      const p: ObserverPair = { pair: i + 1, first, rtprobe: r ?? { sent: 0, received: 0, stamps: '?' }, fping: f ?? { sent: 0, received: 0, stamps: '?' } };
      const ratio = p50Ratio(p50s(p));
      if (ratio !== undefined) p.ratio = ratio;
      res.pairs.push(p);
      o.log(`  pair ${i + 1} (${first} first): rtprobe p50 ${us(p.rtprobe.p50Ns)} µs (${p.rtprobe.missedSendSlots ?? '–'} missed slots), fping p50 ${us(p.fping.p50Ns)} µs, ratio ${fixed(p.ratio, 2)}` +
        [p.rtprobe.note, p.fping.note].filter(Boolean).map((n) => `\n  ${n}`).join(''));
    }
  } finally {
    await load.stop();
  }
  res.summary = summarizeRatios(res.pairs.map(p50s));
  return res;
}

export function renderObserverEffect(r: ObserverResult): string {
  const table = formatTable(
    ['pair', 'first', 'rtprobe p50 µs', 'rcvd/sent', 'missed slots', 'fping p50 µs', 'rcvd/sent', 'rtprobe / fping'],
    r.pairs.map((p) => [String(p.pair), p.first, us(p.rtprobe.p50Ns), `${p.rtprobe.received}/${p.rtprobe.sent}`, String(p.rtprobe.missedSendSlots ?? '–'), us(p.fping.p50Ns), `${p.fping.received}/${p.fping.sent}`, fixed(p.ratio, 2)]),
    [1],
  );
  const s = r.summary;
  return [
    table,
    `median ratio rtprobe/fping over ${s.ratios.filter((x) => x !== undefined).length} pair(s): ${fixed(s.median, 2)}` +
      (s.min !== undefined && s.max !== undefined && s.min !== s.max ? ` (range ${fixed(s.min, 2)}–${fixed(s.max, 2)})` : ''),
    `  guest: ${r.guest}; competing: ${r.load}; ${r.seconds} s a round at ${r.rateHz} Hz.`,
    stampsLine(r.pairs),
    `  rtprobe: ${r.rtprobeCommand || '–'} (kernel stamps: a shorter interval than fping's user-space send stamp)`,
    `  fping:   ${r.fpingCommand} (p50 of its per-probe RTTs in an HdrHistogram set up as rtprobe's: 1 µs floor, 3 digits)`,
    '  above 1: rtprobe sees the answer later than fping does, i.e. its own work delays what it measures.',
  ].join('\n');
}
