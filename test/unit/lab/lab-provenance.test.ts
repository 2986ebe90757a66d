import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { labProvenance } from '../../../controller/lab/lab-provenance.js';
import { LAB_RANGE } from '../../../controller/lab/lab-layout.js';
import { writeLabState, type LabState } from '../../../controller/lab/lab-state.js';

const dir = mkdtempSync(join(tmpdir(), 'rtprobe-lab-provenance-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the lab in a report\'s provenance', () => {
  const state: LabState = {
    version: 1, created: '2026-12-01T10:00:00.000Z', token_file: '/run/x/token', stats_file: '/run/x/stats.json',
    targets: [
      { role: 'pt', netns: 'rtp-pt', address: '10.254.20.2', udp_port: 7707, ws_url: 'ws://10.254.20.2:7708' },
      { role: 'emu', netns: 'rtp-emu', address: '10.254.21.2', udp_port: 7707, ws_url: 'ws://10.254.21.2:7708' },
    ],
    processes: [], knobs: { stall: '2ms/1s', 'drop-every': '1000' },
  };

  it('a run that probed a lab guest gets the lab and its device-model knobs; one that did not, none', () => {
    writeLabState(dir, state);
    expect(labProvenance(['10.254.21.2'], dir)).toEqual({
      kind: 'netns', created: '2026-12-01T10:00:00.000Z', knobs: { stall: '2ms/1s', 'drop-every': '1000' },
      description: ['--stall 2ms/1s', '--drop-every 1000'],
    });
    expect(labProvenance(['127.0.0.1'], dir)).toBeNull();
    expect(labProvenance(['10.254.21.2'], join(dir, 'nothing-here'))).toBeNull();
  });

  it('the cheap address test in gather-provenance.ts covers the lab range', () => {
    // gather-provenance.ts loads the lab code only for 10.254.20.0/22 (MAY_BE_LAB)
    expect(LAB_RANGE).toBe('10.254.20.0/22');
  });
});
