/**
 * Parses `fping -D -p 10 -c N HOST` (fping 5.1). Per reply on stdout:
 *   [1795563710.61295] 127.0.0.1 : [0], 64 bytes, 0.038 ms (0.038 avg, 0% loss)
 * a lost probe prints "... : [7], timed out (...)"; the summary goes to stderr:
 *   127.0.0.1 : xmt/rcv/%loss = 5/5/0%, min/avg/max = 0.029/0.035/0.040
 * fping stamps replies with SO_TIMESTAMPNS (kernel RX) and requests in user space. The -D
 * stamps (reply receipt, wall clock) give the span of the run, hence the achieved rate.
 */

export interface FpingParsed {
  rttNs: number[];
  sent: number;
  received: number;
  /** first to last -D stamp, s */
  durationS: number;
}

export function parseFping(stdout: string, stderr: string): FpingParsed {
  const rttNs: number[] = [];
  let first = NaN;
  let last = NaN;
  for (const m of stdout.matchAll(/^\[([\d.]+)\] \S+ : \[\d+\], \d+ bytes, ([\d.]+) ms/gm)) {
    const at = Number(m[1]);
    if (Number.isNaN(first)) first = at;
    last = at;
    rttNs.push(Math.round(Number(m[2]) * 1e6));
  }
  const sum = /xmt\/rcv\/%loss = (\d+)\/(\d+)\//.exec(stderr);
  return {
    rttNs,
    sent: sum ? Number(sum[1]) : rttNs.length,
    received: sum ? Number(sum[2]) : rttNs.length,
    durationS: Number.isNaN(first) ? 0 : last - first,
  };
}

export interface FpingCountRow {
  host: string;
  /** one RTT per reply, in probe order */
  rttNs: number[];
  /** probes shown as '-': no reply */
  lost: number;
}

/**
 * `fping -C N -q HOST…` prints one line per host on stderr when it is done, an RTT in ms per
 * probe and '-' for a probe without a reply:
 *   10.254.1.2 : 0.042 0.025 - 0.016
 * Other stderr lines (ICMP errors, warnings) are not rows and are skipped.
 */
export function parseFpingCount(stderr: string): FpingCountRow[] {
  const rows: FpingCountRow[] = [];
  for (const m of stderr.matchAll(/^(\S+)\s+:((?:\s+(?:\d+(?:\.\d+)?|-))+)\s*$/gm)) {
    const rttNs: number[] = [];
    let lost = 0;
    for (const v of (m[2] ?? '').trim().split(/\s+/)) {
      if (v === '-') lost++;
      else rttNs.push(Math.round(Number(v) * 1e6));
    }
    rows.push({ host: m[1] ?? '', rttNs, lost });
  }
  return rows;
}
