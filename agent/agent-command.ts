import { EXIT_USAGE, parseFlags, printUsageError } from '../shared/cli/command-io.js';
import { AGENT_FLAG_SPEC, parseAgentConfig, type AgentFlags } from './agent-config.js';
import { AgentCounters } from './agent-counters.js';
import { openDgramReflector, type Reflector } from './dgram-reflector.js';

export const AGENT_HELP = `Usage: rtprobe agent [--listen HOST:PORT] [options]

Runs in the guest: reflects rtprobe probes back to their sender, stamping when each arrived
(T2) and left (T3). Replies go only to the probe's source and are never larger than the probe.
Malformed datagrams are not answered; they are counted per reason.

  --listen HOST:PORT     UDP address to listen on (default 0.0.0.0:7707; port 0 = any free
                         port; IPv6 as [ADDR]:PORT)
  --timestamps MODE      auto | kernel | hardware | user (default auto)

Prints 'listening udp HOST:PORT' when ready. SIGINT or SIGTERM ends it and prints its counters.
Exit status: 0 ended by a signal, 2 bad flags, address not usable or port in use.
`;

const ERRNO_TEXT: Record<string, string> = {
  EADDRINUSE: 'port already in use',
  EADDRNOTAVAIL: 'address not on this host',
  EACCES: 'permission denied',
  EINVAL: 'invalid address',
};

export async function agentCommand(argv: string[]): Promise<number> {
  const parsed = parseFlags<AgentFlags>(argv, AGENT_FLAG_SPEC);
  if (parsed instanceof Error) return printUsageError('agent', parsed);
  if (parsed.help) {
    process.stdout.write(AGENT_HELP);
    return 0;
  }
  const config = parseAgentConfig(parsed.flags);
  if (config instanceof Error) return printUsageError('agent', config);

  const counters = new AgentCounters();
  let reflector: Reflector;
  try {
    reflector = await openDgramReflector(config.host, config.port, config.family, counters);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    const shown = config.family === 6 ? `[${config.host}]:${config.port}` : `${config.host}:${config.port}`;
    process.stderr.write(`rtprobe agent: cannot listen on ${shown}: ${ERRNO_TEXT[code] ?? (error as Error).message} (${code || 'error'})\n`);
    return EXIT_USAGE;
  }
  const shown = config.family === 6 ? `[${reflector.address}]:${reflector.port}` : `${reflector.address}:${reflector.port}`;
  process.stdout.write(`listening udp ${shown} (timestamps: user)\n`);

  const signal = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  await reflector.close();
  process.stdout.write(`${counters.format('user space stamps, CLOCK_MONOTONIC')}\nrtprobe agent: ended by ${signal}\n`);
  return 0;
}
