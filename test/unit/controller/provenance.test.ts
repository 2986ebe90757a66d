import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseProvenance, PROVENANCE_FILE, readProvenanceFile, recordProvenance } from '../../../controller/report/provenance-file.js';
import { appliedRtSettings, formatRtSettings, requestedRt } from '../../../shared/report/rt-settings.js';
import { isPrivilegeWarning, parseSocketFlags } from '../../../shared/cli/socket-flags.js';
import { parseAgentSettings, parseRt } from '../../../shared/messages/agent-settings.js';
import { parseAgentMessage } from '../../../shared/messages/agent-messages.js';
import { formatProvenanceLines, lateSenderText, renderProvenanceHtml, shellQuote, type Provenance } from '../../../controller/report/provenance.js';

const FIFO_FAILED = 'SCHED_FIFO priority 80 not set: EPERM — needs CAP_SYS_NICE or RLIMIT_RTPRIO >= 80 (ulimit -r)';
const CPU_FAILED = 'CPU 1 is not in this process\'s allowed CPU set (taskset / cgroup cpuset); thread not pinned';
const SLACK = 'timer slack not set to 1 ns: EPERM — wake-ups may be up to 50 µs late';

describe('RT settings as applied', () => {
  it('pairs each option with its warning; options without one are applied; the rest are other warnings', () => {
    const rt = appliedRtSettings({ rtPriority: 80, cpu: 1, mlock: true, spinUs: 100, dscp: 46 }, [FIFO_FAILED, CPU_FAILED, SLACK], 'native', true);
    expect(rt).toEqual({
      sender: 'native', require_rt: true, other_warnings: [SLACK],
      rt_priority: { requested: 80, applied: false, reason: FIFO_FAILED },
      cpu: { requested: 1, applied: false, reason: CPU_FAILED },
      mlock: { requested: true, applied: true, reason: null },
      spin_us: { requested: 100, applied: true, reason: null },
      dscp: { requested: 46, applied: true, reason: null },
    });
    expect(formatRtSettings(rt)).toBe(`native socket thread: SCHED_FIFO 80 NOT APPLIED (${FIFO_FAILED}), CPU 1 NOT APPLIED (${CPU_FAILED}), ` +
      'mlock applied, spin µs 100 applied, DSCP 46 applied (--require-rt)');
  });

  it('the user-space sender applies none of them', () => {
    const rt = appliedRtSettings({ spinUs: 100 }, [], 'user', false);
    expect(rt.spin_us).toEqual({ requested: 100, applied: false, reason: 'not used: the user-space sender (no native addon)' });
    // auto (the default with --cpu): the spin follows the wake-ups (up to spinUs)
    const auto = appliedRtSettings({ spinUs: 100, spinCapped: true, spinAuto: true }, [], 'native', false);
    expect(auto.spin_us).toEqual({ requested: 'auto', applied: true, reason: null });
    expect(formatRtSettings(auto)).toBe('native socket thread: spin auto applied');
    // the default without --cpu sleeps: nothing was asked for; a --spin 0 given was
    const sleeping = appliedRtSettings({ spinUs: 0, spinCapped: true, spinAuto: false }, [], 'native', false);
    expect(sleeping.spin_us).toBeUndefined();
    expect(formatRtSettings(sleeping)).toBe('native socket thread, no RT options');
    expect(appliedRtSettings({ spinUs: 0, spinCapped: false, spinAuto: false }, [], 'native', false).spin_us)
      .toEqual({ requested: 0, applied: true, reason: null });
  });
});

describe('--cpu-dma-latency in the RT settings', () => {
  it('held by the process: applied with either sender; its warning is its reason, and --require-rt counts it', () => {
    const held = appliedRtSettings(requestedRt({ native: { rtPriority: 50 }, cpuDmaLatencyUs: 0 }), [], 'user', false);
    expect(held.cpu_dma_latency_us).toEqual({ requested: 0, applied: true, reason: null });
    expect(held.rt_priority?.applied).toBe(false); // the socket thread's options need the addon
    const refused = 'cpu_dma_latency 0 µs not held: cannot open /dev/cpu_dma_latency (EACCES; needs root, and a kernel with PM QoS)';
    const rt = appliedRtSettings(requestedRt({ native: {}, cpuDmaLatencyUs: 0 }), [refused], 'native', true);
    expect(rt).toEqual({ sender: 'native', require_rt: true, other_warnings: [], cpu_dma_latency_us: { requested: 0, applied: false, reason: refused } });
    expect(formatRtSettings(rt)).toBe(`native socket thread: cpu_dma_latency µs 0 NOT APPLIED (${refused}) (--require-rt)`);
    expect(isPrivilegeWarning(refused)).toBe(true);
    expect(appliedRtSettings(requestedRt({ native: {} }), [], 'native', false).cpu_dma_latency_us).toBeUndefined();
  });
  it("an agent's hello carries it to the controller's report", () => {
    const rt = appliedRtSettings(requestedRt({ native: {}, cpuDmaLatencyUs: 5 }), [], 'native', false);
    expect(parseRt(JSON.parse(JSON.stringify(rt)))?.cpu_dma_latency_us).toEqual({ requested: 5, applied: true, reason: null });
  });
  it.each([['x', "--cpu-dma-latency: 'x' is not a whole number"], ['-1', '--cpu-dma-latency: -1 is out of range 0..2000000000'],
    ['2000000001', '--cpu-dma-latency: 2000000001 is out of range 0..2000000000']])('--cpu-dma-latency %s: %s', (value, message) => {
    expect((parseSocketFlags({ 'cpu-dma-latency': value }) as Error).message).toBe(message);
  });
  it('parsed apart from the socket thread\'s options: not sent to the addon, not refused without it', () => {
    expect(parseSocketFlags({ 'cpu-dma-latency': '0', 'rt-priority': '9' })).toEqual({ native: { rtPriority: 9 }, cpuDmaLatencyUs: 0, requireRt: false, given: ['--rt-priority'] });
  });
});

describe('a sender whose probes left late', () => {
  it('warns when the median target left over 1 ms late at p99, with the RT hint only where SCHED_FIFO was off', () => {
    expect(lateSenderText([200_000, 5_000_000, 180_000], false)).toBeNull(); // one late target: its own line says so
    expect(lateSenderText([3_800_000, 4_400_000, 900_000], false)).toBe('its probes left up to 3.8 ms late (send error p99 of the median target; user space, CLOCK_MONOTONIC): ' +
      'the thread waited for a CPU; --rt-priority N (with --cpu C) gives it one when a slot is due (README: Many targets)');
    expect(lateSenderText([1_500_000, 1_600_000], true)).toBe('its probes left up to 1.5 ms late (send error p99 of the median target; user space, CLOCK_MONOTONIC): the thread waited for a CPU');
    expect(lateSenderText([1_000_000], false)).toBeNull();
    expect(lateSenderText([], false)).toBeNull();
  });
});

describe('agent settings from a hello', () => {
  const settings = {
    host: { name: 'guest', kernel: '6.1.0-rt', clock_source: 'tsc', cpu_model: 'x', cpu_count: 2 },
    rt: { sender: 'native', require_rt: false, other_warnings: [], rt_priority: { requested: 90, applied: true, reason: null } },
    max_rate_per_s: 1000, max_sessions: 16, key_file: false,
  };
  const hello = { type: 'hello', v: 1, agent_version: '0.1.0', instance: 'i', clocks: { t2: 'kernel', t3: 'user', turnaround: 'k' },
    clock_sync: { mode: 'none', error_ns: null }, interval_ms: 1000, replay_ms: 600000, first_id: 0, last_id: 0 };

  it('known fields come through; unknown ones are dropped', () => {
    expect(parseAgentSettings({ ...settings, extra: { deep: 1 } })).toEqual(settings);
    const parsed = parseAgentMessage(JSON.stringify({ ...hello, settings }));
    expect(parsed.ok && parsed.message.type === 'hello' && parsed.message.settings).toEqual(settings);
  });

  it('max_sessions_per_source comes through when the agent sends it, and an older agent without it still parses', () => {
    expect(parseAgentSettings({ ...settings, max_sessions_per_source: 4 })).toEqual({ ...settings, max_sessions_per_source: 4 });
    expect(parseAgentSettings(settings)).not.toHaveProperty('max_sessions_per_source');
    expect(parseAgentSettings({ ...settings, max_sessions_per_source: -1 })).not.toHaveProperty('max_sessions_per_source');
  });

  it('malformed settings drop the settings, never the hello', () => {
    const parsed = parseAgentMessage(JSON.stringify({ ...hello, settings: { host: 'x' } }));
    expect(parsed.ok).toBe(true);
    expect(parsed.ok && parsed.message.type === 'hello' && 'settings' in parsed.message).toBe(false);
  });
});

describe('provenance text and HTML', () => {
  const provenance: Provenance = {
    rtprobe_version: '0.1.0', command_line: ['rtprobe', 'run', '--target', 'a b=<x>'], node_version: 'v20.0.0',
    host: { name: 'h', kernel: '6.1.0', clock_source: 'tsc', cpu_model: 'EPYC', cpu_count: 2 },
    rt: appliedRtSettings({ rtPriority: 80 }, [FIFO_FAILED], 'native', false),
    load: null, lab: { kind: 'netns', created: '2024-01-01T00:00:00Z', knobs: { stall: '2ms/1s' }, description: ['--stall 2ms/1s'] },
    agents: [{ target: 'g', hello: null }],
  };

  it('says version, command (quoted to paste back), kernel, clock, CPUs, what failed, the lab and the agents', () => {
    expect(formatProvenanceLines(provenance)).toEqual([
      "rtprobe 0.1.0 (node v20.0.0): rtprobe run --target 'a b=<x>'",
      'host h: kernel 6.1.0, clock source tsc, 2 CPUs EPYC',
      `rt native socket thread: SCHED_FIFO 80 NOT APPLIED (${FIFO_FAILED})`,
      'lab netns up since 2024-01-01T00:00:00Z: --stall 2ms/1s',
      'agent g: no hello received',
    ]);
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });

  it("says each native sender's pacing in force (a spin per slot, or send groups), its receive-buffer drops, JavaScript's lag and the thread's backlog pauses when there were any", () => {
    const senders: Provenance['senders'] = [
      { protocol: 'udp', family: 4, targets: 1000, spin_ns: 0, spin_auto: true, wake_late_p50_ns: null, wake_late_p90_ns: null, send_group_ns: 50_000, receive_buffer_drops: 1234, max_delivery_lag_ms: 2345.6, backlog_paused_ms: 812.5 },
      { protocol: 'icmp', family: 6, targets: 1, spin_ns: 100_000, spin_auto: false, wake_late_p50_ns: 92_031, wake_late_p90_ns: 151_679, send_group_ns: 0, receive_buffer_drops: 0, max_delivery_lag_ms: 999, backlog_paused_ms: 0 },
      { protocol: 'udp', family: 4, targets: 1, spin_ns: 14_200, spin_auto: true, wake_late_p50_ns: 14_200, wake_late_p90_ns: 24_200, send_group_ns: 0, receive_buffer_drops: 0, max_delivery_lag_ms: 0.2, backlog_paused_ms: 0 },
    ];
    expect(formatProvenanceLines({ ...provenance, lab: null, agents: [], senders }).slice(3)).toEqual([
      'sender udp IPv4, 1000 targets: sent in groups: one wake-up per 50 µs, send error up to that by design, no spin; '
        + '1234 replies dropped by its full receive buffer (counted as lost: this machine read them too late, not the path\'s loss); '
        + 'JavaScript up to 2.3 s behind its thread (more events than it records at this rate; they waited in memory, results exact); '
        + 'its thread paused 0.8 s in all while JavaScript held its memory bound of event batches (slots due then counted as missed, not sent; replies waited in the socket)',
      'sender icmp IPv6, 1 target: one wake-up a slot, spin 100 µs before each (its wake-ups came 92.0 µs late at the median, up to 151.7 µs late at p90, of the last 64, CLOCK_MONOTONIC)',
      'sender udp IPv4, 1 target: one wake-up a slot, spin auto, at the end 14.2 µs before each (its wake-ups came 14.2 µs late at the median, up to 24.2 µs late at p90, of the last 64, CLOCK_MONOTONIC)',
    ]);
    // the default without --cpu: sleep only
    const sleeping = { ...senders[1], spin_ns: 0 } as NonNullable<Provenance['senders']>[number];
    expect(formatProvenanceLines({ ...provenance, lab: null, agents: [], senders: [sleeping] }).slice(3)).toEqual([
      'sender icmp IPv6, 1 target: one wake-up a slot, no spin: it sleeps to each deadline (its wake-ups came 92.0 µs late at the median, up to 151.7 µs late at p90, of the last 64, CLOCK_MONOTONIC)',
    ]);
    // a report written before the median was measured: the 90th percentile alone
    const older = { ...senders[2], wake_late_p50_ns: undefined } as unknown as NonNullable<Provenance['senders']>[number];
    expect(formatProvenanceLines({ ...provenance, lab: null, agents: [], senders: [older] }).slice(3)).toEqual([
      'sender udp IPv4, 1 target: one wake-up a slot, spin auto, at the end 14.2 µs before each (its wake-ups came up to 24.2 µs late at p90, of the last 64, CLOCK_MONOTONIC)',
    ]);
    expect(renderProvenanceHtml({ ...provenance, senders })).toContain('<tr><th>sender</th><td>udp IPv4, 1000 targets: sent in groups');
  });

  it('the HTML escapes every value', () => {
    const html = renderProvenanceHtml(provenance);
    expect(html).toContain('b=&#60;x&#62;');
    expect(html).not.toContain('<x>');
  });
});

describe('a log directory\'s provenance file (untrusted input)', () => {
  const good = {
    rtprobe_version: '0.1.0', command_line: ['rtprobe', 'soak'], node_version: 'v20', load: null, lab: null,
    host: { name: 'h', kernel: '6.1.0', clock_source: 'tsc', cpu_model: null, cpu_count: 2 },
    rt: { sender: 'native', require_rt: false, other_warnings: [] },
    agents: [{ target: 'g', hello: null }, { target: 'x', agent_version: 1 }, 'junk',
      { target: 'a', agent_version: '0.1.0', instance: 'i', interval_ms: 1000, replay_ms: 5, clocks: { t2: 'kernel', t3: 'user', turnaround: 'k' },
        clock_sync: { mode: 'none', error_ns: null }, settings: { host: 'bad' }, extra: 'dropped' }],
  };

  it('keeps well-formed entries with their known fields, drops the rest, never throws', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rtprobe-provenance-file-'));
    try {
      expect(readProvenanceFile(dir)).toEqual([]);
      writeFileSync(join(dir, PROVENANCE_FILE), '{ not json');
      expect(readProvenanceFile(dir)).toEqual([]);
      writeFileSync(join(dir, PROVENANCE_FILE), JSON.stringify([good, { ...good, host: null }, 42, { ...good, command_line: [1] }]));
      const list = readProvenanceFile(dir);
      expect(list).toHaveLength(1);
      expect(list[0]?.agents).toEqual([
        { target: 'g', hello: null }, { target: 'x', hello: null },
        { target: 'a', agent_version: '0.1.0', instance: 'i', interval_ms: 1000, replay_ms: 5, clocks: { t2: 'kernel', t3: 'user', turnaround: 'k' },
          clock_sync: { mode: 'none', error_ns: null } },
      ]);
      expect(formatProvenanceLines(list[0] as Provenance)).toHaveLength(3 + 3); // version, host, rt; one line per agent
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a resumed soak adds an entry; the final write replaces its own', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rtprobe-provenance-file-'));
    try {
      const first = parseProvenance(good) as Provenance;
      expect(recordProvenance(dir, first, false)).toBeNull();
      expect(recordProvenance(dir, { ...first, command_line: ['rtprobe', 'soak', '--resume'] }, false)).toBeNull();
      expect(recordProvenance(dir, { ...first, command_line: ['rtprobe', 'soak', '--resume', 'final'] }, true)).toBeNull();
      expect(readProvenanceFile(dir).map((p) => p.command_line.at(-1))).toEqual(['soak', 'final']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
