/**
 * Parses `irtt client -o FILE.json` (irtt 0.9, json_format 1). Checked against a real run:
 *   stats.timer_error {n,min,max,mean,...} ns   — wake-up time minus schedule ("timer error")
 *   stats.send_call  {n,min,max,mean,...} ns    — time spent in the send syscall
 *   stats.packets_sent / packets_received / duration (ns) / timer_misses
 *   round_trips[] { seqno, lost: "false"|"true"|"true_down"|"true_up",
 *                   timestamps.client.{send,receive}.monotonic, timestamps.server...,
 *                   delay.rtt }
 * irtt's own `delay.rtt` subtracts the server's processing time (server send − server
 * receive). rtprobe, sockperf and ping all include their reflector's turnaround, so the
 * comparable figure is the client's receive − send; both are kept.
 */

export interface IrttParsed {
  /** client receive − client send (monotonic), ns: includes server processing */
  rttNs: number[];
  /** irtt's own rtt: without server processing time, ns */
  irttRttNs: number[];
  sent: number;
  received: number;
  durationS: number;
  timerErrorNs?: { max: number; mean: number; n: number };
  timerMisses: number;
  sendCallMaxNs?: number;
  serverProcessingMeanNs?: number;
}

type Json = Record<string, unknown>;

function obj(v: unknown): Json | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function path(v: unknown, ...keys: string[]): unknown {
  let cur: unknown = v;
  for (const k of keys) cur = obj(cur)?.[k];
  return cur;
}

export function parseIrttJson(text: string): IrttParsed {
  const root = obj(JSON.parse(text));
  const stats = obj(root?.['stats']);
  const trips = root?.['round_trips'];
  if (!stats || !Array.isArray(trips)) throw new Error('irtt JSON: no stats/round_trips');

  const rttNs: number[] = [];
  const irttRttNs: number[] = [];
  for (const rt of trips) {
    if (path(rt, 'lost') !== 'false') continue;
    const send = num(path(rt, 'timestamps', 'client', 'send', 'monotonic'));
    const recv = num(path(rt, 'timestamps', 'client', 'receive', 'monotonic'));
    if (send !== undefined && recv !== undefined) rttNs.push(recv - send);
    const own = num(path(rt, 'delay', 'rtt'));
    if (own !== undefined) irttRttNs.push(own);
  }

  const te = obj(stats['timer_error']);
  const teMax = num(te?.['max']);
  const parsed: IrttParsed = {
    rttNs,
    irttRttNs,
    sent: num(stats['packets_sent']) ?? trips.length,
    received: num(stats['packets_received']) ?? rttNs.length,
    durationS: (num(stats['duration']) ?? 0) / 1e9,
    timerMisses: num(stats['timer_misses']) ?? 0,
  };
  if (te && teMax !== undefined) {
    parsed.timerErrorNs = { max: teMax, mean: num(te['mean']) ?? NaN, n: num(te['n']) ?? 0 };
  }
  const sendCallMax = num(path(stats, 'send_call', 'max'));
  if (sendCallMax !== undefined) parsed.sendCallMaxNs = sendCallMax;
  const spt = num(path(stats, 'server_processing_time', 'mean'));
  if (spt !== undefined) parsed.serverProcessingMeanNs = spt;
  return parsed;
}
