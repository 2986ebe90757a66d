import './v8-start-flags.js'; // first (see there); again for the bundle and the SEA, which start here
import { RTPROBE_VERSION } from './build-info.js';
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

Run 'rtprobe COMMAND --help' for a command's options; 'rtprobe --version' prints the version.
`;

type Command = (argv: string[]) => Promise<number>;

/**
 * Each command's module is imported only when that command runs: `rtprobe agent` in a guest
 * loads the agent and what it needs, never soak, the dashboard, the hlog tools or compare's load.
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  run: async () => (await import('../../controller/run-command.js')).runCommand,
  agent: async () => (await import('../../agent/agent-command.js')).agentCommand,
  demo: async () => (await import('../../controller/demo-command.js')).demoCommand,
  lab: async () => (await import('../../controller/lab/lab-command.js')).labCommand,
  compare: async () => (await import('../../controller/compare-command.js')).compareCommand,
  soak: async () => (await import('../../controller/soak-command.js')).soakCommand,
  report: async () => (await import('../../controller/report-command.js')).reportCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(MAIN_HELP);
    return command === undefined ? EXIT_USAGE : 0;
  }
  if (command === '--version' || command === '-V') {
    process.stdout.write(`rtprobe ${RTPROBE_VERSION}\n`);
    return 0;
  }
  const load = COMMANDS[command];
  if (!load) {
    process.stderr.write(`rtprobe: unknown command '${command}'\nTry 'rtprobe --help'.\n`);
    return EXIT_USAGE;
  }
  return (await load())(rest);
}

const exitCode = await main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`rtprobe: internal error: ${(error as Error).stack ?? String(error)}\n`);
  return 70;
});
process.exitCode = exitCode;
// The command is over and its output written (stdout and stderr are synchronous on Linux). A
// signal now, e.g. a supervisor stopping what just finished, must not turn the command's own
// exit code into a death by signal (128 + N): while handles close it exits with that code, and
// once nothing is left to run it exits at once. Left to itself, Node would first tear down its
// heap for 4-7 ms with the signals' default action restored, and a SIGTERM then killed it.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => process.exit());
process.once('beforeExit', () => process.exit());
