/** What `rtprobe agent` prints when SIGTERM ends it (agent/agent-core.ts format, agent-command.ts). */
export interface AgentCounters {
  /** the timestamps the reflector ran with ('listening udp … (timestamps: kernel)') */
  timestamps: string | null;
  received: number;
  reflected: number;
  rejected: number;
  /** session-ends that freed their session's place (neither reflected nor rejected) */
  sessionsEnded: number;
  /** per reason, as printed in the parentheses */
  reasons: Record<string, number>;
  /** the stream line, when the agent ran one */
  stream: { badMessages: Record<string, number>; floodCloses: number } | null;
}

const COUNTERS = /rtprobe agent: received (\d+), reflected (\d+), rejected (\d+) \(([^)]*)\)/;
const STREAM = /^stream: .*bad messages (\{[^}]*\}), (\d+) flood closes/m;

/** Parses the agent's output; an Error naming what is missing. */
export function parseAgentCounters(stdout: string): AgentCounters | Error {
  const match = COUNTERS.exec(stdout);
  if (!match) return new Error(`no counters line in the agent's output: ${JSON.stringify(stdout.slice(-500))}`);
  const reasons: Record<string, number> = {};
  const list = match[4] ?? '';
  if (list !== 'none') {
    for (const item of list.split(', ')) {
      const parts = /^(\S+) (\d+)$/.exec(item);
      if (!parts) return new Error(`unreadable reason count '${item}'`);
      reasons[parts[1] ?? ''] = Number(parts[2]);
    }
  }
  let stream: AgentCounters['stream'] = null;
  const streamMatch = STREAM.exec(stdout);
  if (streamMatch) {
    try {
      stream = { badMessages: JSON.parse(streamMatch[1] ?? '{}') as Record<string, number>, floodCloses: Number(streamMatch[2]) };
    } catch {
      return new Error(`unreadable stream line: ${streamMatch[0]}`);
    }
  }
  return {
    timestamps: /^listening udp \S+ \(timestamps: (\w+)\)/m.exec(stdout)?.[1] ?? null,
    received: Number(match[1]), reflected: Number(match[2]), rejected: Number(match[3]), reasons, stream,
    sessionsEnded: Number(/sessions ended by their controller (\d+)/.exec(stdout)?.[1] ?? 0),
  };
}
