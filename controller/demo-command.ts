import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseFlags, printUsageError } from '../shared/cli/command-io.js';
import { parseRunConfig, type RunFlags } from './run-config.js';
import { executeRun } from './run-command.js';

export const DEMO_HELP = `Usage: rtprobe demo [--duration TIME] [--rate HZ] [--size BYTES] [--timestamps MODE] [--json FILE|-]

The embedded default: starts an agent on 127.0.0.1 (a child process, any free port), probes it
for 10 s at 100 Hz and prints the report. Nothing leaves this host.
`;

const DEMO_FLAG_SPEC = {
  duration: { type: 'string' },
  rate: { type: 'string' },
  size: { type: 'string' },
  timestamps: { type: 'string' },
  json: { type: 'string' },
  quiet: { type: 'boolean' },
} as const;

const CLI_PATH = fileURLToPath(new URL('../shared/cli/rtprobe.js', import.meta.url));

/** Starts `rtprobe agent` on loopback and resolves with its port once it listens. */
function startLocalAgent(timestamps: string | undefined): Promise<{ port: number; stop: () => Promise<string> }> {
  const args = [CLI_PATH, 'agent', '--listen', '127.0.0.1:0', ...(timestamps ? ['--timestamps', timestamps] : [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the local agent exited with code ${code} before listening`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = /^listening udp 127\.0\.0\.1:(\d+)/.exec(line);
      if (!match) {
        lines.push(line);
        return;
      }
      child.removeAllListeners('exit');
      resolve({
        port: Number(match[1]),
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
  let agent: Awaited<ReturnType<typeof startLocalAgent>>;
  try {
    agent = await startLocalAgent(flags.timestamps);
  } catch (error) {
    process.stderr.write(`rtprobe demo: ${(error as Error).message}\n`);
    return 2;
  }
  process.stderr.write(`rtprobe demo: agent on 127.0.0.1:${agent.port}, probing for ${flags.duration} at ${flags.rate ?? '100'} Hz\n`);
  let code: number;
  try {
    code = await executeRun({ ...check, targets: [{ ...check.targets[0]!, port: agent.port }] });
  } finally {
    const agentSummary = await agent.stop();
    if (!flags.quiet) process.stderr.write(`${agentSummary}\n`);
  }
  return code;
}
