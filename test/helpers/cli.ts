import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';
import dgram from 'node:dgram';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const CLI_PATH = fileURLToPath(new URL('../../shared/cli/rtprobe.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `rtprobe ARGS` to completion (killed after timeoutMs). */
export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], { env: { ...process.env, ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface RunningAgent {
  child: ChildProcess;
  port: number;
  /** ws://… of the agent's stream, when it was started with one */
  streamUrl: string | null;
  /** SIGTERM, then everything it printed */
  stop(): Promise<CliResult>;
}

/** Starts `rtprobe agent` on a loopback address and waits until it listens. */
export function startAgent(args: string[] = [], listen = '127.0.0.1:0', env: NodeJS.ProcessEnv = {}): Promise<RunningAgent> {
  const child = spawn(process.execPath, [CLI_PATH, 'agent', '--listen', listen, ...args], { env: { ...process.env, ...env } });
  const wantsStream = args.includes('--ws') || args.includes('--token-file') || args.includes('--insecure-no-auth');
  return waitUntilListening(child, wantsStream);
}

/** Waits for an agent process (however started) to print its listening line(s). */
export function waitUntilListening(child: ChildProcessWithoutNullStreams, wantsStream: boolean): Promise<RunningAgent> {
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`agent did not listen: ${stderr}`)), 20_000);
    exited.then((code) => reject(new Error(`agent exited ${code}: ${stderr}`)));
    let port = 0;
    createInterface({ input: child.stdout }).on('line', (line) => {
      stdout += `${line}\n`;
      const udp = /^listening udp \[?[^\]]*\]?:(\d+)/.exec(line);
      const stream = /^stream (ws:\/\/\S+)/.exec(line);
      if (udp) port = Number(udp[1]);
      if (!(wantsStream ? stream : udp)) return;
      clearTimeout(timer);
      resolve({
        child,
        port,
        streamUrl: stream?.[1] ?? null,
        stop: async () => {
          child.kill('SIGTERM');
          const code = await exited;
          return { code, stdout, stderr };
        },
      });
    });
  });
}

/** A loopback UDP port with nothing listening on it (bound, then released). */
export async function freeUdpPort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** Sends raw datagrams to a loopback port. */
export async function sendDatagrams(port: number, datagrams: Buffer[], host = '127.0.0.1'): Promise<void> {
  const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  for (const datagram of datagrams) {
    await new Promise<void>((resolve, reject) => socket.send(datagram, port, host, (error) => (error ? reject(error) : resolve())));
  }
  await new Promise<void>((resolve) => socket.close(() => resolve()));
}
