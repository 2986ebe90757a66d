import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { RTPROBE_CLI } from '../shared/cli/build-info.js';
import { parseFlags, printUsageError } from '../shared/cli/command-io.js';
import { parseRunConfig, type RunFlags } from './engine/run-config.js';
import { executeRun } from './run-command.js';

export const DEMO_HELP = `Usage: rtprobe demo [--duration TIME] [--rate HZ] [--size BYTES] [--timestamps MODE] [--json FILE|-] [--quiet]

The embedded default: starts an agent on 127.0.0.1 (a child process, any free ports, its
stream behind a one-off token), probes it for 10 s at 100 Hz and prints the report with the
agent's breakdown: guest turnaround, arrival jitter, network part, loss by direction.
Nothing leaves this host.
`;

const DEMO_FLAG_SPEC = {
  duration: { type: 'string' },
  rate: { type: 'string' },
  size: { type: 'string' },
  timestamps: { type: 'string' },
  json: { type: 'string' },
  quiet: { type: 'boolean' },
} as const;


interface LocalAgent {
  udpPort: number;
  streamUrl: string;
  stop: () => Promise<string>;
}

/** Starts `rtprobe agent` on loopback and resolves once its probe port and stream listen. */
function startLocalAgent(timestamps: string | undefined, tokenFile: string): Promise<LocalAgent> {
  const args = [RTPROBE_CLI, 'agent', '--listen', '127.0.0.1:0', '--ws', '127.0.0.1:0', '--token-file', tokenFile,
    ...(timestamps ? ['--timestamps', timestamps] : [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let udpPort = 0;
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the local agent exited with code ${code} before listening`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const udp = /^listening udp 127\.0\.0\.1:(\d+)/.exec(line);
      const stream = /^stream (ws:\/\/\S+)/.exec(line);
      if (udp) udpPort = Number(udp[1]);
      else if (!stream) lines.push(line);
      if (!stream) return;
      child.removeAllListeners('exit');
      resolve({
        udpPort,
        streamUrl: stream[1] ?? '',
        stop: () => new Promise((done) => {
          child.once('exit', () => done(lines.join('\n')));
          child.kill('SIGTERM');
        }),
      });
    });
  });
}

export async function demoCommand(argv: string[]): Promise<number> {
  const parsed = parseFlags<RunFlags>(argv, DEMO_FLAG_SPEC);
  if (parsed instanceof Error) return printUsageError('demo', parsed);
  if (parsed.help) {
    process.stdout.write(DEMO_HELP);
    return 0;
  }
  const flags = { duration: '10s', ...parsed.flags };
  // Validate before starting anything.
  const check = parseRunConfig({ ...flags, target: ['local-agent=127.0.0.1:1'] });
  if (check instanceof Error) return printUsageError('demo', check);
  const tokenDir = mkdtempSync(join(tmpdir(), 'rtprobe-demo-'));
  const tokenFile = join(tokenDir, 'token');
  const token = randomBytes(24).toString('base64url');
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  try {
    let agent: LocalAgent;
    try {
      agent = await startLocalAgent(flags.timestamps, tokenFile);
    } catch (error) {
      process.stderr.write(`rtprobe demo: ${(error as Error).message}\n`);
      return 2;
    }
    process.stderr.write(`rtprobe demo: agent on 127.0.0.1:${agent.udpPort} (stream ${agent.streamUrl}), ` +
      `probing for ${flags.duration} at ${flags.rate ?? '100'} Hz\n`);
    try {
      const [target] = check.targets;
      if (!target) return 2;
      return await executeRun({
        ...check,
        targets: [{ ...target, port: agent.udpPort }],
        agentWs: new Map([[target.name, agent.streamUrl]]),
        agentToken: token,
      });
    } finally {
      const agentSummary = await agent.stop();
      if (!flags.quiet) process.stderr.write(`${agentSummary}\n`);
    }
  } finally {
    rmSync(tokenDir, { recursive: true, force: true });
  }
}
