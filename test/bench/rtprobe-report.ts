/**
 * Reads the controller's `--json FILE` report (version 1). Only the fields the bench uses;
 * anything missing is tolerated so that a half-finished CLI still yields a row.
 */
import type { Percentiles } from './tool-result.js';

export interface RtprobeTarget {
  name: string;
  sent: number;
  received: number;
  lost: number;
  missedSendSlots: number;
  stampsTx: string;
  stampsRx: string;
  rtt?: Percentiles;
  sendErrorNs?: { p99: number; max: number; mean: number };
  turnaroundNs?: Percentiles;
}

export interface RtprobeReport {
  durationS: number;
  rateHz: number;
  process?: { rssBytes: number; cpuUserS: number; cpuSystemS: number };
  targets: RtprobeTarget[];
  /** `all_targets.send_error_ns` (two targets or more): the send error over all probes */
  allTargetsSendErrorNs?: { p99: number; max: number; mean: number };
}

type Json = Record<string, unknown>;

function obj(v: unknown): Json | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
}

function num(v: unknown, dflt = NaN): number {
  // counters may come as strings if the writer serialised bigints
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return dflt;
}

function percentiles(v: unknown): Percentiles | undefined {
  const o = obj(v);
  if (!o) return undefined;
  return {
    count: num(o['count'], 0),
    p50: num(o['p50']),
    p99: num(o['p99']),
    p99_9: num(o['p99_9']),
    max: num(o['max']),
  };
}

function sendError(o: Json | undefined): { p99: number; max: number; mean: number } | undefined {
  const se = obj(o?.['send_error_ns']);
  return se ? { p99: num(se['p99']), max: num(se['max']), mean: num(se['mean']) } : undefined;
}

export function parseRtprobeReport(text: string): RtprobeReport {
  const root = obj(JSON.parse(text));
  if (!root) throw new Error('rtprobe JSON: not an object');
  const targets: RtprobeTarget[] = [];
  for (const t of Array.isArray(root['targets']) ? root['targets'] : []) {
    const o = obj(t);
    if (!o) continue;
    const sent = num(o['sent'], 0);
    const received = num(o['received'], 0);
    const target: RtprobeTarget = {
      name: String(o['name'] ?? ''),
      sent,
      received,
      lost: num(o['lost'], sent - received),
      missedSendSlots: num(o['missed_send_slots'], 0),
      stampsTx: String(obj(o['timestamps'])?.['tx'] ?? '?'),
      stampsRx: String(obj(o['timestamps'])?.['rx'] ?? '?'),
    };
    const rtt = percentiles(o['rtt_ns']);
    if (rtt) target.rtt = rtt;
    const se = sendError(o);
    if (se) target.sendErrorNs = se;
    const ta = percentiles(o['turnaround_ns']);
    if (ta) target.turnaroundNs = ta;
    targets.push(target);
  }
  const report: RtprobeReport = {
    durationS: num(root['duration_s'], 0),
    rateHz: num(root['rate_hz'], 0),
    targets,
  };
  const all = sendError(obj(root['all_targets']));
  if (all) report.allTargetsSendErrorNs = all;
  const p = obj(root['process']);
  if (p) {
    report.process = {
      rssBytes: num(p['rss_bytes']),
      cpuUserS: num(p['cpu_user_s']),
      cpuSystemS: num(p['cpu_system_s']),
    };
  }
  return report;
}
