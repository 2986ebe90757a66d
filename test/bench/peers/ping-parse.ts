/**
 * Parses iputils `ping` output:
 *   64 bytes from 127.0.0.1: icmp_seq=1 ttl=64 time=0.055 ms
 *   5 packets transmitted, 5 received, 0% packet loss, time 71ms
 * time= has 3 decimals in ms (1 µs resolution); iputils stamps the reply with SO_TIMESTAMP
 * (kernel RX, µs) and the request in user space.
 */

export interface PingParsed {
  rttNs: number[];
  sent: number;
  received: number;
  /** ping's own "time NNNms" (first send to last reply), s */
  durationS: number;
}

export function parsePing(text: string): PingParsed {
  const rttNs: number[] = [];
  for (const m of text.matchAll(/icmp_seq=\d+ .*?time=([\d.]+) ms/g)) {
    rttNs.push(Math.round(Number(m[1]) * 1e6));
  }
  const sum = /(\d+) packets transmitted, (\d+) received.*?time (\d+)ms/.exec(text);
  return {
    rttNs,
    sent: sum ? Number(sum[1]) : rttNs.length,
    received: sum ? Number(sum[2]) : rttNs.length,
    durationS: sum ? Number(sum[3]) / 1000 : 0,
  };
}
