/**
 * The hidden `rtprobe lab guest-execd` (run by the QEMU guest's /init) and `rtprobe lab
 * guest-exec` (run on the host by `compare --load …@guest`); guest-exec.ts has the protocol.
 */
import { EXIT_OK, EXIT_USAGE, parseFlags, printUsageError } from '../../../shared/cli/command-io.js';
import { parseHostPort } from '../../../shared/cli/host-port.js';
import { readTokenFile } from '../../../shared/cli/token-file.js';
import { GUEST_EXEC_PORT, runInGuest, serveGuestExec } from './guest-exec.js';

const HELP = `Usage: rtprobe lab guest-execd --listen HOST:PORT --token-file FILE     (inside the lab's QEMU guest)
       rtprobe lab guest-exec --to HOST:PORT --token-file FILE -- COMMAND [ARGS...]
Internal to the QEMU lab: runs a load inside the guest for 'rtprobe compare --load KIND@guest'.
SIGTERM or SIGINT to guest-exec ends the command in the guest (its whole process group).
`;

interface Flags { listen?: string; to?: string; 'token-file'?: string }
const SPEC = { listen: { type: 'string' }, to: { type: 'string' }, 'token-file': { type: 'string' } } as const;

function tokenOf(flags: Flags, command: string): string | number {
  if (!flags['token-file']) return printUsageError(command, new Error('--token-file is required'));
  const token = readTokenFile('--token-file', flags['token-file']);
  return token instanceof Error ? printUsageError(command, token) : token;
}

export async function guestExecdCommand(argv: string[]): Promise<number> {
  const parsed = parseFlags<Flags>(argv, SPEC);
  if (parsed instanceof Error) return printUsageError('lab guest-execd', parsed);
  if (parsed.help) { process.stdout.write(HELP); return EXIT_OK; }
  const token = tokenOf(parsed.flags, 'lab guest-execd');
  if (typeof token === 'number') return token;
  const listen = parseHostPort('--listen', parsed.flags.listen ?? '', GUEST_EXEC_PORT);
  if (listen instanceof Error) return printUsageError('lab guest-execd', listen);
  try {
    await serveGuestExec(listen.host, listen.port, token);
  } catch (error) {
    process.stderr.write(`rtprobe lab guest-execd: cannot listen: ${(error as Error).message}\n`);
    return EXIT_USAGE;
  }
  process.stdout.write(`guest-exec listening ${listen.host}:${listen.port}\n`);
  return new Promise<number>(() => { /* serves until the guest stops */ });
}

export async function guestExecCommand(argv: string[]): Promise<number> {
  const split = argv.indexOf('--');
  const parsed = parseFlags<Flags>(split < 0 ? argv : argv.slice(0, split), SPEC);
  if (parsed instanceof Error) return printUsageError('lab guest-exec', parsed);
  if (parsed.help) { process.stdout.write(HELP); return EXIT_OK; }
  const command = split < 0 ? [] : argv.slice(split + 1);
  if (command.length === 0) return printUsageError('lab guest-exec', new Error('give the command after --'));
  const token = tokenOf(parsed.flags, 'lab guest-exec');
  if (typeof token === 'number') return token;
  const to = parseHostPort('--to', parsed.flags.to ?? '', GUEST_EXEC_PORT);
  if (to instanceof Error) return printUsageError('lab guest-exec', to);
  const remote = runInGuest(to.host, to.port, token, command, (text) => process.stdout.write(text));
  let stoppedBy: NodeJS.Signals | null = null;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => { stoppedBy = signal; remote.stop(); });
  }
  const exit = await remote.done;
  if (stoppedBy !== null) {
    process.stderr.write(exit === null ? 'rtprobe lab guest-exec: stopped; the guest did not confirm the end of the load in time\n'
      : `rtprobe lab guest-exec: stopped; the load in the guest ended (${exit})\n`);
    return stoppedBy === 'SIGINT' ? 130 : 143;
  }
  if (exit === null) {
    process.stderr.write('rtprobe lab guest-exec: the connection to the guest ended without an exit status\n');
    return 1;
  }
  return typeof exit === 'number' ? exit : 1;
}
