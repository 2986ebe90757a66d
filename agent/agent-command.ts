import { randomUUID } from 'node:crypto';
import { parseFlags, printUsageError, EXIT_USAGE } from '../shared/cli/command-io.js';
import { isPrivilegeWarning, SOCKET_FLAGS_HELP } from '../shared/cli/socket-flags.js';
import { chooseTimestamps, type TimestampChoice } from '../shared/cli/timestamp-choice.js';
import { RTPROBE_VERSION } from '../shared/cli/build-info.js';
import { CLOCK_OF_SOURCE } from '../shared/report/clock-names.js';
import { privilegedPortHint } from '../shared/cli/privileged-port.js';
import { gatherHostFacts } from '../shared/report/host-facts.js';
import { appliedRtSettings, requestedRt } from '../shared/report/rt-settings.js';
import { holdCpuDmaLatency } from '../shared/cli/cpu-dma-latency.js';
import { monoNs, wallMsOfMono } from '../shared/time/clock.js';
import { AGENT_FLAG_SPEC, parseAgentConfig, type AgentConfig, type AgentFlags } from './agent-config.js';
import { AgentCore } from './agent-core.js';
import { AgentRecorder, type RecorderOptions } from './agent-recorder.js';
import { openDgramReflector, type Reflector } from './dgram-reflector.js';
import { openNativeReflector } from './native-agent-reflector.js';
import { StatsStream } from './stats-stream.js';
import { formatTimerSummary, startGuestTimer, type GuestTimer } from './guest-timer.js';
import { sharePerAddress } from './probe-guard.js';
import { startAlignedTicker } from './aligned-ticker.js';
import { TraceFreeze } from './trace-freeze.js';
import { warmUpReflectPath } from './warm-up-reflect-path.js';

export const AGENT_VERSION = RTPROBE_VERSION;

export const AGENT_HELP = `Usage: rtprobe agent [--listen HOST:PORT] [options]

Runs in the guest: reflects rtprobe probes back to their sender, stamping when each arrived
(T2) and left (T3). Replies go only to the probe's source and are never larger than the probe.
Malformed datagrams are not answered; they are counted per reason. Per controller session it
records interval histograms (arrival jitter, turnaround, one-way delay when clocks are synced)
and streams them over a WebSocket to the controller (--ws).

  --listen HOST:PORT       UDP address to listen on (default 0.0.0.0:7707; port 0 = any free
                           port; IPv6 as [ADDR]:PORT)
  --timestamps MODE        auto | kernel | hardware | user (default auto: kernel stamps from
                           the native addon, which also answers probes on its own thread)
Protection (README: Security)
  --key-file FILE          answer only probes signed with this key (HMAC-SHA256, first line
                           of FILE, >= 16 chars; the controller gets the same file); replayed
                           sequence numbers are refused; replies are signed
  --max-rate N|off         probes a second answered per source address (default 1000, bursts
                           of a fifth of a second); the excess is counted, not answered
  --max-sessions N         controller sessions answered and recorded at once (default 16). A
                           source address+port holds one place per agent address it probes
                           (its new session replaces its old one), a source address at most
                           --max-sessions-per-source;
                           a new session takes the place of one silent for 5 s, else is
                           refused; a controller's session-end frees its place at once
  --max-sessions-per-source N
                           places one source address may hold (default a quarter of
                           --max-sessions, at least 1; at most --max-sessions): junk from one
                           address cannot take them all. One controller probing many
                           addresses of this agent (--targets-file) needs one per target
Refused probes (session-limit, rate-limited, replay, unauthenticated, bad-auth) get a 64-byte
refusal reply naming the reason (signed with --key-file), at most 10 at once and 100 a second
per source address (rate-limited: once a second); the controller reports them as 'refused'.
Stream (WebSocket, path /v1/stream)
  --ws HOST:PORT           where the stream listens (default 0.0.0.0:7708); the stream is on
                           when --token-file or --insecure-no-auth is given
  --token-file FILE        bearer token subscribers must present (first line, >= 16 chars)
  --insecure-no-auth       no token: only on a trusted, isolated network
  --replay TIME            intervals kept for subscribers that reconnect (default 10m)
  --stream-interval TIME   length of each histogram interval streamed (default 1s; the
                           old spelling --interval still works, with a warning)
  --clock-sync ptp|ntp     declare the guest and controller clocks synchronised: enables the
                           forward one-way delay (T2 − T1), reported with --clock-error
  --clock-error TIME       the bound of the clock offset (e.g. 20us)
  --trace-on-breach        on the first RTT breach a controller reports (soak --alert-max),
                           write a marker to ftrace's trace_marker and stop tracing, so the
                           kernel trace around the worst case is kept (as cyclictest -b)
  --tracefs DIR            tracefs mount (default /sys/kernel/tracing, then debug/tracing)
Guest timer latency (README: Guest timer latency)
  --timer-latency          also measure this guest's timer/scheduling latency, as cyclictest's
                           measuring thread: a native thread sleeps with clock_nanosleep
                           (CLOCK_MONOTONIC, TIMER_ABSTIME) to a fixed grid and records each
                           wake-up's lateness; streamed as histogram 'timer' in every interval
  --timer-interval TIME    the grid (default 1ms, 50us..1s)
  --timer-priority N       its SCHED_FIFO priority (default 95; without CAP_SYS_NICE or
                           RLIMIT_RTPRIO a warning, with --require-rt exit 2)
  --timer-cpu N            pin it to CPU N (e.g. the CPU the reflector's vCPU runs on)

${SOCKET_FLAGS_HELP}
Prints 'listening udp HOST:PORT' (and 'stream ws://HOST:PORT/v1/stream') when ready. SIGINT or
SIGTERM ends it and prints its counters (with the probes its full receive buffer dropped
unread, when there were any: this machine's loss, not the path's).
Exit status: 0 ended by a signal, 2 bad flags, address not usable, port in use, --require-rt unmet.
`;

const ERRNO_TEXT: Record<string, string> = {
  EADDRINUSE: 'port already in use',
  EADDRNOTAVAIL: 'address not on this host',
  EACCES: 'permission denied',
  EINVAL: 'invalid address',
};

function shown(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function listenError(what: string, host: string, port: number, error: unknown): string {
  // node:dgram errors carry .code; the native addon names the errno in its message.
  const code = (error as NodeJS.ErrnoException).code ?? /\b(E[A-Z]{2,})\b/.exec(String(error))?.[1] ?? '';
  const reason = ERRNO_TEXT[code] ?? (error as Error).message;
  return `rtprobe agent: cannot listen on ${what} ${shown(host, port)}: ${reason}${code ? ` (${code})` : ''}${privilegedPortHint(code, port)}`;
}

export async function agentCommand(argv: string[]): Promise<number> {
  const parsed = parseFlags<AgentFlags>(argv, AGENT_FLAG_SPEC);
  if (parsed instanceof Error) return printUsageError('agent', parsed);
  if (parsed.help) {
    process.stdout.write(AGENT_HELP);
    return 0;
  }
  const config = parseAgentConfig(parsed.flags);
  if (config instanceof Error) return printUsageError('agent', config);
  if (parsed.flags.interval !== undefined) {
    process.stderr.write("rtprobe agent: warning: --interval is deprecated: write --stream-interval (soak's --interval is its alert interval)\n");
  }
  return runAgent(config);
}

/**
 * How often the native reflector hands its events to JavaScript unasked: once a second. Whoever
 * needs them sooner asks (flush): the stream when an interval closes and before it answers a
 * controller's final flush. Waking JavaScript 10 times less is most of what the agent costs the
 * guest beside answering; each probe still lands in the interval its thread read it in.
 */
export const REFLECTOR_BATCH_INTERVAL_MS = 1000;

/** The reflector on the probe port, native (kernel stamps) or node:dgram; an exit code when it cannot be had. */
async function openReflector(config: AgentConfig, choice: TimestampChoice, core: AgentCore): Promise<Reflector | number> {
  let reflector: Reflector;
  try {
    const native = { ...config.socket.native, batchIntervalMs: REFLECTOR_BATCH_INTERVAL_MS };
    reflector = choice.kind === 'native'
      ? await openNativeReflector(choice.addon, config.host, config.port, config.family, choice.stamps, native, core, config.protection)
      : await openDgramReflector(config.host, config.port, config.family, core, config.protection);
  } catch (error) {
    process.stderr.write(/EADDR|EACCES|bind/.test(String(error)) || (error as NodeJS.ErrnoException).code
      ? `${listenError('udp', config.host, config.port, error)}\n`
      : `rtprobe agent: ${(error as Error).message}\n`);
    return EXIT_USAGE;
  }
  const notHeld = holdCpuDmaLatency(config.socket.cpuDmaLatencyUs);
  if (notHeld !== null) reflector.warnings.push(notHeld);
  for (const warning of reflector.warnings) process.stderr.write(`rtprobe agent: warning: ${warning}\n`);
  if (config.socket.requireRt && reflector.warnings.some(isPrivilegeWarning)) {
    process.stderr.write('rtprobe agent: --require-rt: a real-time option could not be applied (see the warning above)\n');
    await reflector.close();
    return EXIT_USAGE;
  }
  return reflector;
}

/** The agent stream's WebSocket server, fed by the recorder; a listen failure is a message and null. */
async function openStream(stream: NonNullable<AgentConfig['stream']>, config: AgentConfig,
  reflector: Reflector, timer: GuestTimer | null): Promise<StatsStream | null> {
  try {
    return await StatsStream.listen({
      host: stream.host, port: stream.port, token: stream.token,
      replayMs: stream.replayMs, intervalMs: config.intervalMs,
      hello: {
        agent_version: AGENT_VERSION, instance: randomUUID(),
        clocks: { t2: reflector.stampSource, t3: reflector.stampSource, turnaround: CLOCK_OF_SOURCE[reflector.stampSource] },
        clock_sync: { mode: config.clockSync.mode, error_ns: config.clockSync.errorNs },
        interval_ms: config.intervalMs, replay_ms: stream.replayMs,
        timer: timer ? timer.hello : { running: false, interval_ns: 0, priority: null, cpu: null },
        settings: {
          host: gatherHostFacts(),
          rt: appliedRtSettings(requestedRt(config.socket), reflector.warnings, reflector.stampSource === 'user' ? 'user' : 'native', config.socket.requireRt),
          max_rate_per_s: config.protection.limits.maxRatePerS, max_sessions: config.maxSessions,
          max_sessions_per_source: config.protection.limits.maxSessionsPerSource ?? sharePerAddress(config.maxSessions),
          key_file: config.protection.key !== null,
        },
      },
    });
  } catch (error) {
    process.stderr.write(`${listenError('ws', stream.host, stream.port, error)}\n`);
    return null;
  }
}

/** --trace-on-breach: a breach a controller reports freezes the kernel trace, once. */
function freezeTraceOnBreach(stream: StatsStream, trace: TraceFreeze): void {
  stream.onBreach((breach) => {
    try {
      if (trace.freeze(breach)) {
        process.stderr.write(`rtprobe agent: breach session ${breach.session} seq ${breach.seq} rtt ${breach.rtt_ns} ns: trace marked and stopped in ${trace.dir}\n`);
      }
    } catch (error) {
      process.stderr.write(`rtprobe agent: --trace-on-breach: ${(error as Error).message}\n`);
    }
  });
}

/**
 * The first SIGINT or SIGTERM. The handlers stay installed: a second signal while the agent
 * closes (coreutils `timeout` signals the child and its group, a supervisor may repeat
 * itself) must not kill it by the default action before it has printed its counters.
 */
function waitForStopSignal(): Promise<string> {
  return new Promise<string>((resolve) => {
    process.on('SIGINT', () => resolve('SIGINT'));
    process.on('SIGTERM', () => resolve('SIGTERM'));
  });
}

function formatStreamCounters(stream: StatsStream | null): string {
  const s = stream?.stats();
  if (!s) return '';
  return `\nstream: ${s.published} intervals published, ${s.replayed} replayed, ${s.dropped} dropped for slow subscribers, ` +
    `${s.authFailures} auth failures, bad messages ${JSON.stringify(s.errors)}, ${s.floodCloses} flood closes`;
}

/** --timer-latency: the measuring thread, null when off, an exit code when it cannot run as asked. */
function openGuestTimer(config: AgentConfig): GuestTimer | null | number {
  if (!config.timer) return null;
  const timer = startGuestTimer(config.timer, config.socket.native.mlock ?? false);
  if (timer instanceof Error) return printUsageError('agent', timer);
  for (const warning of timer.warnings) process.stderr.write(`rtprobe agent: warning: ${warning}\n`);
  if (config.socket.requireRt && timer.warnings.some(isPrivilegeWarning)) {
    process.stderr.write('rtprobe agent: --require-rt: the timer thread\'s real-time options could not be applied (see the warning above)\n');
    timer.native.stop();
    return EXIT_USAGE;
  }
  return timer;
}

/**
 * The agent's core and its recorder, made one way for the agent and for its warm-up's
 * throwaways: V8 compiles for the shapes it has seen, and objects made otherwise are shaped otherwise.
 */
function makeAgentCore(config: AgentConfig, timer: RecorderOptions['timer'], publish: RecorderOptions['publish']): { core: AgentCore; recorder: AgentRecorder } {
  const recorder = new AgentRecorder({
    intervalMs: config.intervalMs, recordOwd: config.clockSync.mode !== 'none', maxSessions: config.maxSessions,
    idleMs: 60_000, publish,
    ...(timer ? { timer } : {}),
    socketHealth: () => core.socketHealth(),
  });
  const core = new AgentCore(recorder);
  return { core, recorder };
}

/** The warm-up's stand-in for the guest timer: its samples stay for the agent's own recorder. */
const IDLE_TIMER = { drain: () => ({ values: new Float64Array(0), counts: new Float64Array(0), count: 0, maxNs: -1, maxAtMs: 0, overruns: 0 }) };

async function runAgent(config: AgentConfig): Promise<number> {
  const choice = chooseTimestamps(config.timestamps, config.socket);
  if (choice instanceof Error) return printUsageError('agent', choice);
  const trace = config.traceOnBreach ? TraceFreeze.open(config.traceOnBreach.dir) : null;
  if (trace instanceof Error) return printUsageError('agent', trace);
  for (const warning of choice.warnings) process.stderr.write(`rtprobe agent: warning: ${warning}\n`);
  const timer = openGuestTimer(config);
  if (typeof timer === 'number') return timer;

  let stream: StatsStream | null = null;
  // V8 compiles the per-probe path now, not on the guest's CPU while the first run measures it
  if (choice.kind === 'native') {
    await warmUpReflectPath(() => makeAgentCore(config, timer ? IDLE_TIMER : undefined, config.stream ? () => {} : null).core, config.family);
  }
  const { core, recorder } = makeAgentCore(config, timer?.native, config.stream ? (message) => stream?.publish(message) : null);
  const reflector = await openReflector(config, choice, core);
  if (typeof reflector === 'number') {
    timer?.native.stop();
    return reflector;
  }
  if (config.stream) {
    stream = await openStream(config.stream, config, reflector, timer);
    if (!stream) {
      timer?.native.stop();
      await reflector.close();
      return EXIT_USAGE;
    }
    // A controller flushes once it has its last reply; the reflector's thread may still hold
    // that probe's event for its next batch (up to a second): the interval waits for it.
    stream.onFlush(async (session) => {
      await reflector.flush();
      recorder.flush(session, wallMsOfMono(monoNs()));
    });
    if (trace) freezeTraceOnBreach(stream, trace);
  }
  // Handlers first: whoever reads the listening line may stop the agent at once.
  const stopped = waitForStopSignal();
  // With the timer on, the tick also collects its counts: at most 100 ms apart and right after
  // each interval boundary. With neither a stream nor the timer there is nothing to tick: the
  // JS thread then wakes only for the reflector's batches.
  // An interval that is due closes after the reflector handed over what it had read.
  const stopTicker = config.stream || timer
    ? startAlignedTicker(Math.min(timer ? 100 : 250, config.intervalMs / 4), () => wallMsOfMono(monoNs()), (nowMs) => {
      if (!recorder.intervalDue(nowMs)) return recorder.tick(nowMs);
      void reflector.flush().then(() => recorder.tick(wallMsOfMono(monoNs())));
    })
    : () => {};
  process.stdout.write(`listening udp ${shown(reflector.address, reflector.port)} (timestamps: ${reflector.stampSource})\n`);
  if (stream) process.stdout.write(`stream ws://${shown(stream.address, stream.port)}/v1/stream${config.stream?.token ? '' : ' (no auth)'}\n`);
  const signal = await stopped;
  stopTicker();
  await reflector.close();
  recorder.endAll(wallMsOfMono(monoNs()));
  timer?.native.stop();
  recorder.foldTimer();
  const streamLine = formatStreamCounters(stream);
  await stream?.close();
  const timerLine = timer ? `\n${formatTimerSummary(timer.hello, recorder.timerTotal.summary(), recorder.timerMaxAtMs, recorder.timerOverruns)}` : '';
  process.stdout.write(`${core.format(CLOCK_OF_SOURCE[reflector.stampSource])}${streamLine}${timerLine}\nrtprobe agent: ended by ${signal}\n`);
  // Out at once, the signal handlers still installed. On the natural way out Node closes them
  // first and then tears down (the addon's hooks, V8): a repeated SIGTERM in that window gets
  // the default action, and the agent that printed its counters reads as killed, not exit 0
  // (seen in 3 of 8 runs of the test once start-up and shutdown got faster without tsx).
  // Everything is closed and stdout is synchronous on Linux (file, pipe, TTY).
  process.exit(0);
}
