import { describe, expect, it } from 'vitest';
import { reflectorBatchIntervalMs } from '../../../agent/agent-command.js';
import type { AgentConfig } from '../../../agent/agent-config.js';

describe('reflectorBatchIntervalMs: how often the native reflector wakes JavaScript', () => {
  it('every 100 ms for a stream or the guest timer, once a second when nobody waits for the events', () => {
    const stream = {} as NonNullable<AgentConfig['stream']>;
    const timer = {} as NonNullable<AgentConfig['timer']>;
    expect(reflectorBatchIntervalMs({ stream, timer: null })).toBe(100);
    expect(reflectorBatchIntervalMs({ stream: null, timer })).toBe(100);
    expect(reflectorBatchIntervalMs({ stream: null, timer: null })).toBe(1000);
  });
});
