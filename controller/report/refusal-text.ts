import type { Refusal } from '../../shared/wire/probe-codec.js';
import type { RefusalReason } from '../../shared/wire/probe-layout.js';
import type { TargetReport } from './run-report.js';

/** What to do about each reason the agent gives, said beside the count. */
const HINTS: Record<RefusalReason, string> = {
  'session-limit': 'raise --max-sessions on the agent, or end the other controllers probing it',
  'rate-limited': 'lower --rate, or raise --max-rate on the agent',
  replay: 'the agent saw these sequence numbers before: another controller with this session and key?',
  unauthenticated: 'the agent requires signed probes: give this controller the agent\'s --key-file',
  'bad-auth': 'the agent has another key: compare the --key-file files',
};

export function refusalHint(reason: RefusalReason): string {
  return HINTS[reason];
}

function sessions(n: number): string {
  return n === 1 ? '1 session' : `${n} sessions`;
}

/** "session-limit (16 sessions busy)", "rate-limited (--max-rate 200/s)", "replay". */
export function describeRefusal(refusal: Refusal): string {
  switch (refusal.reason) {
    case 'session-limit':
      return refusal.scope === 'agent'
        ? `session-limit (${sessions(refusal.detail)} busy)`
        : `session-limit (${sessions(refusal.detail)} busy from this address, its share of the agent's places)`;
    case 'rate-limited':
      return `rate-limited (--max-rate ${refusal.detail}/s per source address)`;
    default:
      return refusal.reason;
  }
}

/** "session-limit 200, rate-limited 3", or null when nothing was refused. */
export function formatRefusedCounts(refused: NonNullable<TargetReport['refused']>): string | null {
  const parts = Object.entries(refused).map(([reason, n]) => `${reason} ${n}`);
  return parts.length === 0 ? null : parts.join(', ');
}

/**
 * For a target that got refusals and no reply: "agent refused: session-limit (16 sessions
 * busy)", the reason its run failed. Null otherwise.
 */
export function refusedOnlyMessage(t: TargetReport): string | null {
  if (t.received > 0 || !t.last_refusal) return null;
  return `agent refused: ${describeRefusal(t.last_refusal)}; ${refusalHint(t.last_refusal.reason)}`;
}
