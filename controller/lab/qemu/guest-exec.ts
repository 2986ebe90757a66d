/**
 * Running a load inside the QEMU guest (`compare --load cpu@guest`): a small exec service the
 * guest's /init starts beside the agent (`rtprobe lab guest-execd`), and its client on the host
 * (`rtprobe lab guest-exec`), which the load runner starts like any other load process.
 *
 * Protocol, one command per TCP connection: the client sends `TOKEN <lab token>\n` and the argv
 * as one JSON line; the service starts it in its own process group, streams its output back and
 * ends with `\n[guest-exec exit CODE|SIGNAL]\n`. When the client goes away (its load was stopped)
 * the service ends the whole group: SIGTERM, SIGKILL after 2 s. Without the token, nothing runs.
 * The service listens only in the lab guest, whose addresses only the host's TAPs reach.
 */
import { spawn } from 'node:child_process';
import { timingSafeEqual } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';

export const GUEST_EXEC_PORT = 7709;
const STOP_GRACE_MS = 2000;
const MAX_REQUEST_BYTES = 64 * 1024;
const EXIT_MARKER = '[guest-exec exit ';

function sameToken(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The request's two lines, or an Error naming what is wrong with it. */
export function parseExecRequest(text: string, token: string): string[] | Error {
  const [auth = '', json = ''] = text.split('\n');
  if (!auth.startsWith('TOKEN ') || !sameToken(auth.slice('TOKEN '.length), token)) return new Error('bad token');
  let argv: unknown;
  try {
    argv = JSON.parse(json);
  } catch {
    return new Error('the command is not JSON');
  }
  if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === 'string')) return new Error('the command is not a list of strings');
  return argv as string[];
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch { /* already gone */ }
}

function serveOne(socket: Socket, token: string): void {
  let request = '';
  let started = false;
  socket.setEncoding('utf8');
  socket.on('error', () => { /* the close handler below cleans up */ });
  socket.on('data', (chunk: string) => {
    if (started) return;
    request += chunk;
    if (request.length > MAX_REQUEST_BYTES) { socket.end('request too large\n'); return; }
    if (request.split('\n').length < 3) return; // two whole lines
    started = true;
    const argv = parseExecRequest(request, token);
    if (argv instanceof Error) { socket.end(`${argv.message}\n`); return; }
    const [command = '', ...args] = argv;
    const child = spawn(command, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(socket, { end: false });
    child.stderr.pipe(socket, { end: false });
    let exited = false;
    child.on('error', (error) => { socket.end(`${error.message}\n${EXIT_MARKER}127]\n`); });
    child.on('close', (code, signal) => {
      exited = true;
      if (!socket.destroyed) socket.end(`\n${EXIT_MARKER}${code ?? signal}]\n`);
    });
    // The client half-closes to stop the load (and waits for the exit line), or just goes away.
    const stop = (): void => {
      if (exited || child.pid === undefined) return;
      const pid = child.pid;
      killGroup(pid, 'SIGTERM');
      setTimeout(() => { if (!exited) killGroup(pid, 'SIGKILL'); }, STOP_GRACE_MS).unref();
    };
    socket.on('end', stop);
    socket.on('close', stop);
  });
}

export function serveGuestExec(host: string, port: number, token: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer({ allowHalfOpen: true }, (socket) => serveOne(socket, token));
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

/**
 * Runs argv in the guest, output to `out`; resolves with the remote exit (a number, a signal
 * name, or null when the connection ended without one). `stop` ends the remote command.
 */
export function runInGuest(host: string, port: number, token: string, argv: readonly string[], out: (text: string) => void):
  { done: Promise<number | string | null>; stop: () => void } {
  const socket = connect(port, host);
  let tail = '';
  const done = new Promise<number | string | null>((resolve) => {
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`TOKEN ${token}\n${JSON.stringify(argv)}\n`));
    socket.on('data', (chunk: string) => {
      out(chunk);
      tail = (tail + chunk).slice(-200);
    });
    socket.on('error', (error) => out(`guest-exec: ${error.message}\n`));
    socket.on('close', () => {
      const at = tail.lastIndexOf(EXIT_MARKER);
      if (at < 0) { resolve(null); return; }
      const value = tail.slice(at + EXIT_MARKER.length, tail.indexOf(']', at));
      resolve(/^\d+$/.test(value) ? Number(value) : value);
    });
  });
  // Stop: half-close, so the service ends the load and still sends its exit line; give up on
  // that after STOP_GRACE_MS (a starved guest), the service ends the load when it sees the close.
  const stop = (): void => {
    socket.end();
    setTimeout(() => socket.destroy(), STOP_GRACE_MS).unref();
  };
  return { done, stop };
}
