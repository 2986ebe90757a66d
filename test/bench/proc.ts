/**
 * Every child the bench starts goes through here, so that each one is bounded twice:
 * coreutils `timeout` kills it even if the bench itself dies, and a JS timer does the same
 * while the bench lives. `killAllNow` is for signal handlers: it SIGKILLs every live
 * child's process group (timeout puts itself and the command in a group of their own).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { childrenCpuS } from './child-cpu.js';
import { leafPid } from './proc-sampler.js';

export interface ChildOptions {
  /** hard bound on the child's life, seconds */
  timeoutS: number;
  /** run inside this network namespace (`ip netns exec`) */
  netns?: string;
  cwd?: string;
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** killed by our JS timer or by `timeout` (exit 124/137) */
  timedOut: boolean;
  wallS: number;
  /** CPU s of the child (only for runToEnd: measured from our cutime/cstime) */
  cpuS?: number;
  spawnError?: string;
}

const MAX_CAPTURE = 32 * 1024 * 1024;
const live = new Set<ChildProcess>();

function wrap(cmd: string, args: readonly string[], opts: ChildOptions): string[] {
  const ns = opts.netns ? ['ip', 'netns', 'exec', opts.netns] : [];
  return ['--kill-after=2', `${Math.ceil(opts.timeoutS)}s`, ...ns, cmd, ...args];
}

/** The command as a user would type it, for logs and error messages. */
export function showCommand(cmd: string, args: readonly string[], opts: Pick<ChildOptions, 'netns'>): string {
  const ns = opts.netns ? `ip netns exec ${opts.netns} ` : '';
  return ns + [cmd, ...args].join(' ');
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

export function killAllNow(): void {
  for (const c of live) killGroup(c, 'SIGKILL');
}

interface Running {
  child: ChildProcess;
  out: { stdout: string; stderr: string };
  done: Promise<Finished>;
}

function launch(cmd: string, args: readonly string[], opts: ChildOptions): Running {
  const started = process.hrtime.bigint();
  const child = spawn('timeout', wrap(cmd, args, opts), {
    cwd: opts.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const out = { stdout: '', stderr: '' };
  child.stdout?.setEncoding('utf8').on('data', (s: string) => {
    if (out.stdout.length < MAX_CAPTURE) out.stdout += s;
  });
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    if (out.stderr.length < MAX_CAPTURE) out.stderr += s;
  });
  let jsTimedOut = false;
  const timer = setTimeout(() => {
    jsTimedOut = true;
    killGroup(child, 'SIGTERM');
    setTimeout(() => killGroup(child, 'SIGKILL'), 2000).unref();
  }, (opts.timeoutS + 1) * 1000);
  const done = new Promise<Finished>((resolve) => {
    let spawnError: string | undefined;
    child.on('error', (e) => {
      spawnError = e.message;
    });
    // 'close' waits for the pipes too, so the output is complete
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      const f: Finished = {
        code,
        signal,
        stdout: out.stdout,
        stderr: out.stderr,
        timedOut: jsTimedOut || code === 124 || code === 137,
        wallS: Number(process.hrtime.bigint() - started) / 1e9,
      };
      if (spawnError !== undefined) f.spawnError = spawnError;
      resolve(f);
    });
  });
  return { child, out, done };
}

/** Runs a client to its end; also measures its CPU time. */
export async function runToEnd(
  cmd: string,
  args: readonly string[],
  opts: ChildOptions,
  onStart?: (pid: number) => void,
): Promise<Finished> {
  const cpu0 = childrenCpuS();
  const r = launch(cmd, args, opts);
  if (r.child.pid !== undefined) onStart?.(r.child.pid);
  const f = await r.done;
  f.cpuS = childrenCpuS() - cpu0;
  return f;
}

export interface Service {
  pid: number;
  /** the match of the readiness pattern */
  ready: RegExpExecArray;
  /**
   * SIGTERM, then SIGKILL after graceS; resolves with its output. `to: 'program'` sends the
   * SIGTERM to the program under the wrappers alone: a signal to the group reaches it up to
   * three times (from us, then from coreutils timeout to it and to its group), and a program
   * that handles only the first (an rtprobe agent) dies by the next before it prints its counters.
   */
  stop(graceS?: number, to?: 'group' | 'program'): Promise<Finished>;
}

/** Starts a server and waits until its output matches `ready`. */
export async function startService(
  cmd: string,
  args: readonly string[],
  opts: ChildOptions & { ready: RegExp; readyTimeoutS: number },
): Promise<Service> {
  const r = launch(cmd, args, opts);
  const stop = async (graceS = 3, to: 'group' | 'program' = 'group'): Promise<Finished> => {
    const program = to === 'program' && r.child.pid !== undefined ? leafPid(r.child.pid) : undefined;
    if (program !== undefined && program !== r.child.pid && r.child.exitCode === null && r.child.signalCode === null) {
      try {
        process.kill(program, 'SIGTERM');
      } catch {
        killGroup(r.child, 'SIGTERM');
      }
    } else {
      killGroup(r.child, 'SIGTERM');
    }
    const t = setTimeout(() => killGroup(r.child, 'SIGKILL'), graceS * 1000);
    const f = await r.done;
    clearTimeout(t);
    return f;
  };
  const ready = await new Promise<RegExpExecArray>((resolve, reject) => {
    const check = (): void => {
      const m = opts.ready.exec(r.out.stdout) ?? opts.ready.exec(r.out.stderr);
      if (m) finish(() => resolve(m));
    };
    const poll = setInterval(check, 20);
    const limit = setTimeout(
      () => finish(() => reject(new Error(`not ready after ${opts.readyTimeoutS}s: ${showCommand(cmd, args, opts)}\n${tail(r.out)}`))),
      opts.readyTimeoutS * 1000,
    );
    const finish = (fn: () => void): void => {
      clearInterval(poll);
      clearTimeout(limit);
      fn();
    };
    void r.done.then((f) =>
      finish(() => reject(new Error(`exited (${f.code ?? f.signal}${f.spawnError ? `, ${f.spawnError}` : ''}) before ready: ${showCommand(cmd, args, opts)}\n${tail(f)}`))),
    );
  }).catch(async (e: unknown) => {
    await stop(1);
    throw e;
  });
  return { pid: r.child.pid ?? -1, ready, stop };
}

/** Last lines of a child's output, for error messages. */
export function tail(o: { stdout: string; stderr: string }, lines = 6): string {
  const all = `${o.stdout}\n${o.stderr}`.trim().split('\n');
  return all.slice(-lines).map((l) => `    ${l}`).join('\n');
}
