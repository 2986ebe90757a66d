import { describe, expect, it } from 'vitest';
import { AgentView } from '../../../controller/agent-stream/agent-view.js';
import { agentOwnLoss } from '../../../controller/report/format-report.js';
import type { AgentSocketHealth, IntervalMessage } from '../../../shared/messages/agent-messages.js';

function interval(id: number, session: number, socket?: AgentSocketHealth): IntervalMessage {
  return {
    type: 'interval', v: 1, id, session, peer: '127.0.0.1:5000', start_ms: id * 1000, end_ms: (id + 1) * 1000, histograms: {},
    counts: { received: 100, gaps: 0, reordered: 0, duplicates: 0, rejected: {} }, ...(socket ? { socket } : {}),
  };
}

describe("the agent socket's own losses, from its stream", () => {
  it('are running totals of the agent process: the largest seen, whichever session an interval belongs to', () => {
    const view = new AgentView('ws://127.0.0.1:7708/v1/stream');
    view.addInterval(interval(1, 7, { receive_buffer_drops: 0, backlog_paused_ms: 0 }));
    view.addInterval(interval(2, 7, { receive_buffer_drops: 120, backlog_paused_ms: 0 }));
    // another controller's session: the same socket, the totals as they were when it closed
    view.addInterval(interval(3, 8, { receive_buffer_drops: 90, backlog_paused_ms: 1470.2 }));
    view.addInterval(interval(4, 7));
    expect(view.report()).toMatchObject({ receive_buffer_drops: 120, backlog_paused_ms: 1470.2 });
  });

  it('are unknown (null), not zero, when no interval carried them (the user-space reflector, an older agent)', () => {
    const view = new AgentView('ws://127.0.0.1:7708/v1/stream');
    view.addInterval(interval(1, 7));
    expect(view.report()).toMatchObject({ receive_buffer_drops: null, backlog_paused_ms: null });
  });

  it('the text report says them as the guest\'s loss only when there was some', () => {
    expect(agentOwnLoss({ receive_buffer_drops: 0, backlog_paused_ms: 0 })).toBeNull();
    expect(agentOwnLoss({ receive_buffer_drops: null, backlog_paused_ms: null })).toBeNull();
    expect(agentOwnLoss({ receive_buffer_drops: 36029, backlog_paused_ms: 0 })).toBe(
      "the guest's own loss, not the path's: the agent's kernel dropped 36029 probes unread, its socket's receive buffer full (in the forward loss; over all of the agent's sessions)");
    expect(agentOwnLoss({ receive_buffer_drops: 0, backlog_paused_ms: 1470.2 })).toBe(
      "the guest's own loss, not the path's: the agent's reflector paused 1.5 s while its JavaScript was behind");
  });
});
