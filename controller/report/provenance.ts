import type { HelloMessage } from '../../shared/messages/agent-messages.js';
import type { HostFacts } from '../../shared/report/host-facts.js';
import { CLOCK_OF_SOURCE } from '../../shared/report/clock-names.js';
import { formatRtSettings, type RtSettings } from '../../shared/report/rt-settings.js';
import type { SenderPacing, SocketHealth } from '../../shared/transport/probe-transport.js';
import { escapeHtml } from './svg-plots.js';

/** The lab a run probed, from its state file, when a target is one of its guests. */
export interface LabProvenance {
  kind: 'netns' | 'qemu';
  created: string;
  /** netns lab: the device model's knobs as given to `lab up` ({} = defaults) */
  knobs?: Record<string, unknown>;
  /** the knobs as people read them */
  description: string[];
}

/** What an agent said about itself in its hello (--agent-ws). */
export type AgentProvenance = { target: string } & Omit<HelloMessage, 'type' | 'v' | 'first_id' | 'last_id'>;

/**
 * One native sender socket of a run: its pacing in force (what labels its targets' send_error)
 * and the replies its full receive buffer dropped (what part of their `lost` is this machine's).
 */
export type SenderProvenance = { protocol: 'udp' | 'icmp'; family: 4 | 6; targets: number } & SenderPacing & SocketHealth;

/** Where a report came from: enough to answer "which kernel? was SCHED_FIFO really on? what load?" months later. */
export interface Provenance {
  rtprobe_version: string;
  /** the command as typed, rtprobe first */
  command_line: string[];
  node_version: string;
  host: HostFacts;
  /** the controller's socket and RT options as applied */
  rt: RtSettings;
  /** run and compare: each native sender socket's pacing in force (absent: a soak's, or the user-space sender) */
  senders?: SenderProvenance[];
  /** compare --load: the load scenarios ([] = none) */
  load: unknown[] | null;
  lab: LabProvenance | null;
  /** each subscribed agent's own settings, from its hello (null until it said hello) */
  agents: (AgentProvenance | { target: string; hello: null })[];
}

/** Quotes what a shell would split, so the line can be pasted back. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_.,:/=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function agentLine(agent: Provenance['agents'][number]): string {
  if (!('agent_version' in agent)) return `agent ${agent.target}: no hello received`;
  const settings = agent.settings;
  const host = settings?.host ? `, on ${settings.host.name} kernel ${settings.host.kernel} clock ${settings.host.clock_source ?? 'unknown'}` : '';
  const rt = settings?.rt ? `; ${formatRtSettings(settings.rt)}` : '';
  return `agent ${agent.target}: rtprobe ${agent.agent_version}, ${agent.interval_ms} ms intervals, T2 ${agent.clocks.t2}, ` +
    `clock sync ${agent.clock_sync.mode}${host}${rt}`;
}

function senderLine(s: SenderProvenance): string {
  const pacing = s.send_group_ns > 0
    ? `sent in groups: one wake-up per ${s.send_group_ns / 1000} µs, send error up to that by design, no spin`
    : `one wake-up a slot, ${spinText(s)}${wakeLateText(s.wake_late_p50_ns, s.wake_late_p90_ns)}`;
  const drops = s.receive_buffer_drops > 0 ? `; ${receiveBufferDropsText(s.receive_buffer_drops)}` : '';
  const lag = s.max_delivery_lag_ms >= DELIVERY_LAG_WARN_MS ? `; ${deliveryLagText(s.max_delivery_lag_ms)}` : '';
  const paused = s.backlog_paused_ms > 0 ? `; ${backlogPauseText(s.backlog_paused_ms)}` : '';
  return `sender ${s.protocol} IPv${s.family}, ${s.targets} target${s.targets === 1 ? '' : 's'}: ${pacing}${drops}${lag}${paused}`;
}

function spinText(s: SenderProvenance): string {
  if (s.spin_auto) return `spin auto, at the end ${s.spin_ns / 1000} µs before each`;
  return s.spin_ns > 0 ? `spin ${s.spin_ns / 1000} µs before each` : 'no spin: it sleeps to each deadline';
}

function wakeLateText(p50Ns: number | null | undefined, p90Ns: number | null | undefined): string {
  // (undefined: a report written before the thread measured its wake-ups, or their median)
  if (typeof p90Ns !== 'number') return '';
  const us = (ns: number): string => (ns / 1000).toFixed(1);
  const median = typeof p50Ns === 'number' ? `${us(p50Ns)} µs late at the median, ` : '';
  return ` (its wake-ups came ${median}up to ${us(p90Ns)} µs late at p90, of the last 64, CLOCK_MONOTONIC)`;
}

/** How warnings name a native socket: `udp IPv4 socket`. */
export function socketName(s: { protocol: 'udp' | 'icmp'; family: 4 | 6 }): string {
  return `${s.protocol} IPv${s.family} socket`;
}

/** A batch that waited this long for JavaScript after its thread handed it over: JavaScript is behind. */
export const DELIVERY_LAG_WARN_MS = 1000;

/** What a delivery lag means, for the header and the warning (pure). */
export function deliveryLagText(lagMs: number): string {
  return `JavaScript up to ${(lagMs / 1000).toFixed(1)} s behind its thread (more events than it records at this rate; they waited in memory, results exact)`;
}

/** What the thread's backlog pauses mean, for the header and the warning (pure). */
export function backlogPauseText(pausedMs: number): string {
  return `its thread paused ${(pausedMs / 1000).toFixed(1)} s in all while JavaScript held its memory bound of event batches (slots due then counted as missed, not sent; replies waited in the socket)`;
}

/** A median target's send error p99 above this: the sender waited for a CPU, not for its timer. */
export const LATE_SENDER_WARN_NS = 1_000_000;

/**
 * The warning for a sender whose probes left late (pure): the median, over its targets, of
 * each target's send error p99. Timer lateness on a VM is tens to hundreds of µs; milliseconds
 * mean the thread waited behind other busy threads (many targets on few CPUs). The hint names
 * SCHED_FIFO only where it was not on. null: in time.
 */
export function lateSenderText(sendErrorP99sNs: readonly number[], fifoApplied: boolean): string | null {
  const sorted = [...sendErrorP99sNs].filter(Number.isFinite).sort((a, b) => a - b);
  const median = sorted[Math.floor((sorted.length - 1) / 2)];
  if (median === undefined || median <= LATE_SENDER_WARN_NS) return null;
  const late = `its probes left up to ${(median / 1e6).toFixed(1)} ms late (send error p99 of the median target; ${CLOCK_OF_SOURCE.user}): the thread waited for a CPU`;
  return fifoApplied ? late : `${late}; --rt-priority N (with --cpu C) gives it one when a slot is due (README: Many targets)`;
}

/** What receive-buffer drops mean, for the header and the warning (pure). */
export function receiveBufferDropsText(drops: number): string {
  return `${drops} replies dropped by its full receive buffer (counted as lost: this machine read them too late, not the path's loss)`;
}

/** The text header's provenance lines (pure). */
export function formatProvenanceLines(p: Provenance): string[] {
  const h = p.host;
  const lines = [
    `rtprobe ${p.rtprobe_version} (node ${p.node_version}): ${p.command_line.map(shellQuote).join(' ')}`,
    `host ${h.name}: kernel ${h.kernel}, clock source ${h.clock_source ?? 'unknown'}, ${h.cpu_count} CPUs ${h.cpu_model ?? ''}`.trimEnd(),
    `rt ${formatRtSettings(p.rt)}`,
    ...p.rt.other_warnings.map((w) => `   warning: ${w}`),
    ...(p.senders ?? []).map(senderLine),
  ];
  if (p.lab) lines.push(`lab ${p.lab.kind} up since ${p.lab.created}${p.lab.description.length > 0 ? `: ${p.lab.description.join(', ')}` : ''}`);
  lines.push(...p.agents.map(agentLine));
  return lines;
}

/** A table for the HTML reports; every value escaped. */
export function renderProvenanceHtml(p: Provenance): string {
  const rows: [string, string][] = [
    ['rtprobe', `${p.rtprobe_version} (node ${p.node_version})`],
    ['command', p.command_line.map(shellQuote).join(' ')],
    ['host', p.host.name],
    ['kernel', p.host.kernel],
    ['clock source', p.host.clock_source ?? 'unknown'],
    ['CPU', `${p.host.cpu_count} × ${p.host.cpu_model ?? 'unknown'}`],
    ['RT settings', formatRtSettings(p.rt)],
    ...p.rt.other_warnings.map((w): [string, string] => ['warning', w]),
    ...(p.senders ?? []).map((s): [string, string] => ['sender', senderLine(s).replace(/^sender /, '')]),
    ...(p.lab ? [['lab', `${p.lab.kind} since ${p.lab.created}: ${p.lab.description.join(', ') || 'defaults'}`] as [string, string]] : []),
    ...p.agents.map((a): [string, string] => [`agent ${a.target}`, agentLine(a).replace(/^agent [^:]+: /, '')]),
  ];
  return `<h2>Provenance</h2>\n<table class="provenance">${rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('')}</table>`;
}
