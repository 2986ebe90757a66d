import { describe, expect, it } from 'vitest';
import { formatLabStatus, type LabStatusView } from '../../../controller/lab/lab-status.js';

const DIRECTION = {
  frames: 10, forwarded: 9, undistorted: 2, droppedQueue: 0, droppedInjected: 1, duplicated: 0, reordered: 0,
  reorderTimeouts: 0, delayed: 8, spikes: 0, writeErrors: 0, queueHighWater: 3,
};

const UP: LabStatusView = {
  up: true, healthy: true, problems: [],
  state: {
    version: 1, created: '2026-11-25T00:00:00.000Z', token_file: '/run/rtprobe-lab/token', stats_file: '/run/rtprobe-lab/device-model.json',
    targets: [], processes: [], knobs: { delay: 'constant:2ms', 'drop-every': '10' },
  },
  processes: [{ role: 'agent-pt', pid: 11, alive: true }, { role: 'agent-emu', pid: 12, alive: true }, { role: 'device-model', pid: 13, alive: true }],
  network: { namespaces: ['rtp-pt', 'rtp-emu'], rootLinks: ['rtp-pt-h', 'rtp-emu-h'], nsLinks: [] },
  device_model: {
    pid: 13, started: '2026-11-25T00:00:00.000Z', updated: '2026-11-25T00:00:05.000Z', tap_a: 'rtp-emu-h', tap_b: 'rtp-emu-g', knobs: {},
    stats: { aToB: DIRECTION, bToA: { ...DIRECTION, delayed: 0 }, stalls: 3, stallHeldNs: 15e6, maxLockWaitNs: 5.1e6, readErrors: 0, running: true, lastError: null },
  },
  device_model_age_s: 0.5,
  qemu: null,
};

describe('formatLabStatus', () => {
  it('down: one line', () => {
    expect(formatLabStatus({ ...UP, up: false, healthy: false, state: null, processes: [], device_model: null })).toBe('lab is down\n');
  });

  it('up: both guests with their PIDs, the knobs, the counters each way, and what to run next', () => {
    const text = formatLabStatus(UP);
    expect(text).toContain('lab is up since 2026-11-25T00:00:00.000Z\n');
    expect(text).toContain('agent 10.254.20.2:7707 (pid 11 running)');
    expect(text).toContain('device model (pid 13 running)');
    expect(text).toContain('device model knobs: --delay constant:2ms --drop-every 10');
    expect(text).toContain('to guest  frames 10  forwarded 9  undistorted 2  dropped 1 injected + 0 queue full');
    expect(text).toContain('stalls 3 (lock held 15.0 ms in all), longest lock wait 5.10 ms');
    expect(text).toContain('rtprobe compare --target passthrough=10.254.20.2 --target emulated=10.254.21.2');
  });

  it('degraded: says so and lists each problem', () => {
    const text = formatLabStatus({
      ...UP, healthy: false, problems: ['agent-emu (pid 12) is not running'],
      processes: [{ role: 'agent-emu', pid: 12, alive: false }],
    });
    expect(text).toContain('(DEGRADED)');
    expect(text).toContain('  problem: agent-emu (pid 12) is not running');
    expect(text).toContain('(pid 12 NOT RUNNING)');
    expect(text).toContain('agent 10.254.20.2:7707 (not started)');
  });
});
