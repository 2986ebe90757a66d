import type { AgentCounters } from '../helpers/agent-counters.js';
import { addSample, emptyTally, type TallyData } from './fuzz-tally.js';
import type { UdpSendResult } from './live-udp.js';
import type { WsSendResult } from './live-ws.js';

/** How the live agent ended: alive until SIGTERM, its exit code, what it printed. */
export interface AgentEnd {
  aliveUntilStop: boolean;
  exitCode: number | null;
  counters: AgentCounters | Error;
  elapsedMs: number;
}

function fail(tally: TallyData, invariant: string, detail: string): void {
  tally.violations[invariant] = (tally.violations[invariant] ?? 0) + 1;
  addSample(tally, { invariant, index: -1, detail, hex: '' });
}

function checkEnd(tally: TallyData, end: AgentEnd): AgentCounters | null {
  if (!end.aliveUntilStop) {
    tally.crashes++;
    fail(tally, 'agent-stays-up', `the agent died before SIGTERM (exit ${end.exitCode})`);
  }
  if (end.exitCode !== 0) fail(tally, 'agent-stays-up', `exit code ${end.exitCode} after SIGTERM`);
  if (end.counters instanceof Error) {
    fail(tally, 'agent-prints-counters', end.counters.message);
    return null;
  }
  return end.counters;
}

/** Differences between two per-reason counts ("bad-length 3 want 5"), or '' when equal. */
function diffCounts(got: Record<string, number>, want: Record<string, number>): string {
  const keys = new Set([...Object.keys(got), ...Object.keys(want)]);
  return [...keys].filter((k) => (got[k] ?? 0) !== (want[k] ?? 0)).map((k) => `${k} ${got[k] ?? 0} want ${want[k] ?? 0}`).join(', ');
}

/**
 * The agent's UDP side: it counted every datagram sent (less what the kernel dropped), each
 * once and under the decoder's verdict; it answered exactly the valid probes, each with a reply
 * of the probe's size, and nothing else (bytes out ≤ bytes in).
 */
export function checkUdpRun(name: string, sent: UdpSendResult, end: AgentEnd): TallyData {
  const tally = emptyTally(name);
  tally.inputs = sent.sent;
  tally.bytesIn = sent.bytesIn;
  tally.bytesOut = sent.bytesOut;
  tally.elapsedMs = end.elapsedMs;
  tally.acceptedAs = {
    'valid probes sent': sent.validProbes, 'of them pristine': sent.pristine, replies: sent.replies,
    'refusal replies': sent.refusals, 'session-ends sent': sent.sessionEnds,
    'kernel drops at the agent': sent.agentDrops, 'kernel drops at the sender': sent.ownDrops,
  };
  for (const s of sent.samples) addSample(tally, s);
  if (sent.badReplies > 0) tally.violations['replies-only-to-probes'] = sent.badReplies;
  const counters = checkEnd(tally, end);
  if (counters === null) return tally;
  tally.accepted = counters.reflected;
  tally.reasons = { ...counters.reasons };
  // Datagrams the kernel dropped on the agent's socket never reached it: which ones is unknown,
  // so then each reason may fall short of the decoder's count, by as many in all.
  const drops = sent.agentDrops;
  const dropNote = drops > 0 || sent.ownDrops > 0 ? ` (the kernel dropped ${drops} on the agent's socket, ${sent.ownDrops} on ours)` : '';
  if (counters.received !== sent.sent - drops) {
    fail(tally, 'received-equals-sent', `received ${counters.received}, sent ${sent.sent}${dropNote}`);
  }
  if (counters.reflected + counters.rejected + counters.sessionsEnded !== counters.received) {
    fail(tally, 'every-datagram-counted-once', `reflected ${counters.reflected} + rejected ${counters.rejected} + ` +
      `sessions ended ${counters.sessionsEnded} != received ${counters.received}`);
  }
  // A valid probe the agent's abuse limits refused (--max-sessions, --max-rate; random
  // session ids fill the session places; with a key, a sequence number seen before) is a
  // correct non-answer: it counts with the reflected.
  const {
    'session-limit': sessionLimit = 0, 'rate-limited': rateLimited = 0, replay = 0, 'unknown-session': notHeld = 0, ...decoderReasons
  } = counters.reasons;
  const refused = sessionLimit + rateLimited + replay;
  tally.acceptedAs['refused by the agent\'s limits'] = refused;
  // A session-end frees a place only when its source holds the session; else 'unknown-session'.
  const got: Record<string, number> = {
    ...decoderReasons, reflected: counters.reflected + refused, 'session-end': counters.sessionsEnded + notHeld,
  };
  const want: Record<string, number> = { ...sent.predicted, reflected: sent.validProbes, 'session-end': sent.sessionEnds };
  const over = Object.keys(got).some((k) => (got[k] ?? 0) > (want[k] ?? 0));
  if (over || (drops === 0 && diffCounts(got, want) !== '')) fail(tally, 'same-verdict-as-decoder', `${diffCounts(got, want)}${dropNote}`);
  if (sent.replies > sent.validProbes) fail(tally, 'replies-only-to-probes', `${sent.replies} replies to ${sent.validProbes} valid probes`);
  if (sent.replies < counters.reflected - sent.ownDrops) {
    fail(tally, 'every-probe-answered', `${sent.replies} replies, the agent reflected ${counters.reflected}${dropNote}`);
  }
  if (sent.refusals > refused + (counters.reasons.unauthenticated ?? 0) + (counters.reasons['bad-auth'] ?? 0)) {
    fail(tally, 'refuses-only-refused-probes', `${sent.refusals} refusals, the agent refused ${refused} probes`);
  }
  if (sent.bytesOut > sent.bytesIn) fail(tally, 'amplification-at-most-1', `${sent.bytesOut} bytes out for ${sent.bytesIn} in`);
  return tally;
}

/**
 * The agent's WebSocket side: one `error` per bad message with its reason, connections closed
 * only by frames that must close them, the agent's own count of bad messages per reason equal
 * to what was sent, no policy (flood) closes, and every message it sent valid for a controller.
 */
export function checkWsRun(name: string, sent: WsSendResult, end: AgentEnd): TallyData {
  const tally = emptyTally(name);
  tally.inputs = sent.messages;
  tally.elapsedMs = end.elapsedMs;
  tally.acceptedAs = { connections: sent.connections, 'error replies': sent.errorReplies };
  for (const s of sent.samples) addSample(tally, s);
  if (sent.wrongCloses > 0) tally.violations['closes-only-for-a-terminal-frame'] = sent.wrongCloses;
  if (sent.wrongAnswers > 0) tally.violations['one-error-per-bad-message'] = sent.wrongAnswers;
  if (sent.invalidAgentMessages > 0) tally.violations['agent-messages-valid'] = sent.invalidAgentMessages;
  const counters = checkEnd(tally, end);
  if (counters === null) return tally;
  if (counters.stream === null) {
    fail(tally, 'agent-prints-counters', 'no stream line in the agent\'s output');
    return tally;
  }
  tally.reasons = { ...counters.stream.badMessages };
  tally.accepted = sent.valid;
  const diff = diffCounts(counters.stream.badMessages, sent.predicted);
  if (diff !== '') fail(tally, 'same-verdict-as-decoder', diff);
  if (counters.stream.floodCloses !== 0) fail(tally, 'no-policy-closes', `${counters.stream.floodCloses} flood closes`);
  return tally;
}
