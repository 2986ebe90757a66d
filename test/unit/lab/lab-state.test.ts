import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatLabState, parseLabState, readLabState, removeLabStateDir, writeLabState, type LabState } from '../../../controller/lab/lab-state.js';

const STATE: LabState = {
  version: 1, created: '2026-11-25T00:00:00.000Z', token_file: '/run/rtprobe-lab/token', stats_file: '/run/rtprobe-lab/device-model.json',
  targets: [{ role: 'pt', netns: 'rtp-pt', address: '10.254.20.2', udp_port: 7707, ws_url: 'ws://10.254.20.2:7708' }],
  processes: [{ role: 'device-model', pid: 1234, argv: ['node', 'rtprobe.js', 'lab', 'device-model'], log: '/run/rtprobe-lab/device-model.log' }],
  knobs: { stall: '5ms@2s' },
};

describe('lab state file', () => {
  let dir = '';
  afterEach(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  it('round-trips through the file', () => {
    dir = mkdtempSync(join(tmpdir(), 'rtp-state-'));
    expect(readLabState(dir)).toBeNull();
    writeLabState(dir, STATE);
    expect(readLabState(dir)).toEqual(STATE);
    removeLabStateDir(dir);
    expect(readLabState(dir)).toBeNull();
  });

  it('a damaged file is an Error value, never a throw', () => {
    dir = mkdtempSync(join(tmpdir(), 'rtp-state-'));
    writeFileSync(join(dir, 'state.json'), '{"version":1,');
    expect(readLabState(dir)).toBeInstanceOf(Error);
  });

  it.each([
    ['not JSON', 'nope'],
    ['another version', JSON.stringify({ ...STATE, version: 2 })],
    ['a pid of 1 (never signalled)', JSON.stringify({ ...STATE, processes: [{ ...STATE.processes[0], pid: 1 }] })],
    ['an unknown role', JSON.stringify({ ...STATE, processes: [{ ...STATE.processes[0], role: 'shell' }] })],
    ['a bad target', JSON.stringify({ ...STATE, targets: [{ role: 'pt' }] })],
    ['a knob that is not a string', JSON.stringify({ ...STATE, knobs: { queue: 5 } })],
  ])('%s is refused', (_why, text) => {
    expect(parseLabState(text)).toBeInstanceOf(Error);
  });

  it('formats as indented JSON with a final newline', () => {
    expect(formatLabState(STATE).endsWith('}\n')).toBe(true);
    expect(parseLabState(formatLabState(STATE))).toEqual(STATE);
  });
});
