import { agentCommand } from '../../agent/agent-command.js';
import { compareCommand } from '../../controller/compare-command.js';
import { demoCommand } from '../../controller/demo-command.js';
import { runCommand } from '../../controller/run-command.js';
import { soakCommand } from '../../controller/soak-command.js';
import { EXIT_USAGE } from './command-io.js';

export const MAIN_HELP = `Usage: rtprobe COMMAND [options]

Network latency test rig for real-time virtualization: an isochronous probe schedule,
per-probe round trips in HDR histograms, and a worst-case report that names its clocks.

Commands
  run      probe one or more agents and report the round trip      (rtprobe run --help)
  agent    reflect probes, in the guest                           (rtprobe agent --help)
  compare  two targets side by side, e.g. passthrough vs emulated  (rtprobe compare --help)
  soak     run until stopped: interval alerts, for 16 h and more     (rtprobe soak --help)
  report   summarize .hlog interval logs: text, JSON, HTML, cyclictest (rtprobe report --help)
  demo     agent + controller on 127.0.0.1 for 10 s: the embedded default
  lab      passthrough vs emulated guests on this machine (root)  (rtprobe lab --help)

Run 'rtprobe COMMAND --help' for a command's options.
`;

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  run: runCommand,
  agent: agentCommand,
  demo: demoCommand,
  lab: async (argv) => (await import('../../controller/lab/lab-command.js')).labCommand(argv),
  compare: compareCommand,
  soak: soakCommand,
  report: async (argv) => (await import('../../controller/report-command.js')).reportCommand(argv),
};

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(MAIN_HELP);
    return command === undefined ? EXIT_USAGE : 0;
  }
  const handler = COMMANDS[command];
  if (!handler) {
    process.stderr.write(`rtprobe: unknown command '${command}'\nTry 'rtprobe --help'.\n`);
    return EXIT_USAGE;
  }
  return handler(rest);
}

process.exitCode = await main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`rtprobe: internal error: ${(error as Error).stack ?? String(error)}\n`);
  return 70;
});
