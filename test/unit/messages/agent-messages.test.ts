import { describe, expect, it } from 'vitest';
import { parseAgentMessage } from '../../../shared/messages/agent-messages.js';

const INTERVAL = {
  type: 'interval', v: 1, id: 3, session: 7, peer: '127.0.0.1:5000', start_ms: 1000, end_ms: 2000,
  histograms: { turnaround: { count: 2, max_ns: 900, encoded: 'HISTFAAAA' } },
  counts: { received: 2, gaps: 0, reordered: 0, duplicates: 0, rejected: { short: 1 } },
};

function parse(value: unknown) {
  return parseAgentMessage(JSON.stringify(value));
}

describe('parseAgentMessage rebuilds messages from checked fields only', () => {
  it('keeps a valid interval as it is and drops fields it does not know', () => {
    const result = parse({ ...INTERVAL, extra: { deep: [1, 2, 3] }, histograms: { ...INTERVAL.histograms } });
    expect(result).toEqual({ ok: true, message: INTERVAL });
  });

  it('interval: peer must be a string (cut to 80 chars), histograms an object, counts.rejected known reasons with counts', () => {
    expect(parse({ ...INTERVAL, peer: 5 })).toMatchObject({ ok: false, reason: 'bad-field' });
    const long = parse({ ...INTERVAL, peer: 'x'.repeat(500) });
    expect(long.ok && long.message.type === 'interval' && long.message.peer.length).toBe(80);
    expect(parse({ ...INTERVAL, histograms: [] })).toMatchObject({ ok: false, reason: 'bad-field' });
    expect(parse({ ...INTERVAL, histograms: { ipdv: { count: 1, max_ns: 'x', encoded: '' } } })).toMatchObject({ ok: false });
    for (const rejected of [null, [], { short: -1 }, { short: 1.5 }, { short: { a: 1 } }]) {
      expect(parse({ ...INTERVAL, counts: { ...INTERVAL.counts, rejected } }), JSON.stringify(rejected)).toMatchObject({ ok: false, reason: 'bad-field' });
    }
    // a reason from a newer agent is left out, not an error
    const newer = parse({ ...INTERVAL, counts: { ...INTERVAL.counts, rejected: { short: 1, 'from-the-future': 3 } } });
    expect(newer.ok && newer.message.type === 'interval' && newer.message.counts.rejected).toEqual({ short: 1 });
  });

  it("interval: the agent socket's own losses are kept when well formed, absent stays absent (the user-space reflector, older agents), anything else is refused", () => {
    const socket = { receive_buffer_drops: 36029, backlog_paused_ms: 1470.2 };
    expect(parse({ ...INTERVAL, socket: { ...socket, extra: 1 } })).toEqual({ ok: true, message: { ...INTERVAL, socket } });
    expect(parse(INTERVAL)).toEqual({ ok: true, message: INTERVAL });
    for (const bad of [null, 5, {}, { ...socket, receive_buffer_drops: -1 }, { ...socket, receive_buffer_drops: 1.5 },
      { ...socket, backlog_paused_ms: -0.1 }, { ...socket, backlog_paused_ms: 'x' }, { receive_buffer_drops: 1 }]) {
      expect(parse({ ...INTERVAL, socket: bad }), JSON.stringify(bad)).toMatchObject({ ok: false, reason: 'bad-field' });
    }
  });

  it('session-end needs a known reason; error a known code and a string message (cut to 500 chars)', () => {
    expect(parse({ type: 'session-end', v: 1, id: 1, session: 2, reason: 'idle' })).toMatchObject({ ok: true });
    expect(parse({ type: 'session-end', v: 1, id: 1, session: 2, reason: 'bored' })).toMatchObject({ ok: false, reason: 'bad-field' });
    expect(parse({ type: 'session-end', v: 1, id: 1, session: 2 })).toMatchObject({ ok: false, reason: 'bad-field' });
    expect(parse({ type: 'error', v: 1, code: 'bad-json', message: 'm' })).toEqual({ ok: true, message: { type: 'error', v: 1, code: 'bad-json', message: 'm' } });
    expect(parse({ type: 'error', v: 1, code: 0, message: 'm' })).toMatchObject({ ok: false, reason: 'bad-field' });
    expect(parse({ type: 'error', v: 1, code: 'bad-json', message: { deep: 1 } })).toMatchObject({ ok: false, reason: 'bad-field' });
    const long = parse({ type: 'error', v: 1, code: 'bad-field', message: 'y'.repeat(5000) });
    expect(long.ok && long.message.type === 'error' && long.message.message.length).toBe(500);
  });
});

describe('the guest timer in the stream (agent --timer-latency)', () => {
  const HELLO = {
    type: 'hello', v: 1, agent_version: '1', instance: 'i', clocks: { t2: 'kernel', t3: 'kernel', turnaround: 'k' },
    clock_sync: { mode: 'none', error_ns: null }, interval_ms: 1000, replay_ms: 1000, first_id: 0, last_id: 0,
  };

  it('hello: timer is kept when well formed, absent stays absent (older agents), anything else is refused', () => {
    const timer = { running: true, interval_ns: 1_000_000, priority: 95, cpu: null };
    expect(parse({ ...HELLO, timer: { ...timer, extra: 1 } })).toEqual({ ok: true, message: { ...HELLO, timer } });
    expect(parse({ ...HELLO, timer: { running: false, interval_ns: 0, priority: null, cpu: null } })).toMatchObject({ ok: true });
    const old = parse(HELLO);
    expect(old.ok && old.message.type === 'hello' && 'timer' in old.message).toBe(false);
    for (const bad of [null, 'on', { ...timer, running: 1 }, { ...timer, priority: 0 }, { ...timer, priority: 100 }, { ...timer, cpu: -1 },
      { ...timer, interval_ns: 1.5 }]) {
      expect(parse({ ...HELLO, timer: bad }), JSON.stringify(bad)).toMatchObject({ ok: false, reason: 'bad-field' });
    }
  });

  it('interval: tag timer with the wall time of its max; a max_at_ms that is not a number is refused', () => {
    const histograms = { timer: { count: 1000, max_ns: 90_000, encoded: 'HISTFAAAA', max_at_ms: 1500.5 } };
    expect(parse({ ...INTERVAL, histograms })).toEqual({ ok: true, message: { ...INTERVAL, histograms } });
    expect(parse({ ...INTERVAL, histograms: { timer: { ...histograms.timer, max_at_ms: 'soon' } } })).toMatchObject({ ok: false, reason: 'bad-field' });
  });
});
