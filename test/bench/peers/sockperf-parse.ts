/**
 * Parses `sockperf under-load ... --full-rtt --full-log FILE.csv` (sockperf 3.7) and its
 * stdout. The CSV block is
 *   packet, txTime(sec), rxTime(sec), rtt(usec)        (header says latency(usec) without
 *   0, 2.414411973, 2.414545555, 133.582                 --full-rtt, and then the last
 * column is (rx − tx) / 2: sockperf's "latency" is half the round trip).
 * We ignore the last column and use rxTime − txTime, the full round trip. Only received
 * replies in the "valid duration" (after 400 ms warm-up, before the cool-down) are listed;
 * drops are counted on stdout:
 *   sockperf: [Valid Duration] RunTime=1.540 sec; SentMessages=155; ReceivedMessages=155
 *   sockperf: # dropped messages = 0; # duplicated messages = 0; # out-of-order messages = 0
 */

export interface SockperfParsed {
  rttNs: number[];
  /** sent / received in the valid window (after warm-up), from stdout */
  sent: number;
  received: number;
  dropped: number;
  durationS: number;
}

const ROW = /^\s*(\d+),\s*([\d.]+),\s*([\d.]+),\s*([\d.]+)\s*$/;

export function parseSockperfFullLog(csv: string): number[] {
  const out: number[] = [];
  for (const line of csv.split('\n')) {
    const m = ROW.exec(line);
    if (!m) continue;
    const tx = Number(m[2]);
    const rx = Number(m[3]);
    // seconds with 9 decimals: doubles keep ~0.1 ns here, enough for µs RTTs
    if (rx > 0 && tx > 0) out.push(Math.round((rx - tx) * 1e9));
  }
  return out;
}

export function parseSockperfStdout(text: string): Omit<SockperfParsed, 'rttNs'> {
  // sockperf colours some lines (ESC[2;35m); strip escapes before matching
  const clean = text.replace(/\u001b\[[0-9;]*m/g, '');
  const valid = /\[Valid Duration\] RunTime=([\d.]+) sec; SentMessages=(\d+); ReceivedMessages=(\d+)/.exec(clean);
  const dropped = /# dropped messages = (\d+)/.exec(clean);
  return {
    sent: valid ? Number(valid[2]) : 0,
    received: valid ? Number(valid[3]) : 0,
    dropped: dropped ? Number(dropped[1]) : 0,
    durationS: valid ? Number(valid[1]) : 0,
  };
}

/**
 * The summary percentiles sockperf prints (µs; the round trip with --full-rtt, half of it
 * without), e.g. `sockperf: ---> percentile 99.000 =  386.878` and `---> <MAX> observation =  475.936`.
 * Used where a run is too fast for a full log (100 000 messages a second).
 */
export function parseSockperfPercentilesUs(text: string): { p50Us?: number; p99Us?: number; maxUs?: number } {
  const clean = text.replace(/\u001b\[[0-9;]*m/g, '');
  const at = (label: string): number | undefined => {
    const m = new RegExp(`---> ${label} =\\s*([\\d.]+)`).exec(clean);
    return m ? Number(m[1]) : undefined;
  };
  const out: { p50Us?: number; p99Us?: number; maxUs?: number } = {};
  const p50 = at('percentile 50\\.000');
  const p99 = at('percentile 99\\.000');
  const max = at('<MAX> observation');
  if (p50 !== undefined) out.p50Us = p50;
  if (p99 !== undefined) out.p99Us = p99;
  if (max !== undefined) out.maxUs = max;
  return out;
}
