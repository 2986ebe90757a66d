import { createNativeTransport } from './native-transport.js';
import type { SocketOptions } from '../../shared/cli/socket-flags.js';
import type { TimestampChoice } from '../../shared/cli/timestamp-choice.js';
import type { ProbeTransport, TransportEventHandler } from '../../shared/transport/probe-transport.js';
import { DgramTransport } from './dgram-transport.js';
import { createNativeIcmpTransport } from './native-icmp-transport.js';
import { RawIcmpTransport } from './raw-icmp-transport.js';
import { openWithRtFallback } from '../../shared/cli/rt-fallback.js';

export interface OpenedTransport {
  transport: ProbeTransport;
  /** what could not be applied (RT priority, CPU, mlock): the run goes on without */
  warnings: string[];
}

/**
 * Opens the transport the timestamp choice asks for, one per probe mode and address family.
 * `authKey` signs UDP probes (--key-file); ICMP probes are answered by the kernel, unsigned.
 * `batchIntervalMs`: how often a native thread hands its events over unasked (flush() asks).
 * `groupProbes`: a native transport hands its probe events packed (ProbeRecordsEvent).
 */
export async function openTransport(
  choice: TimestampChoice, socket: SocketOptions, mode: 'udp' | 'icmp', family: 4 | 6,
  onEvents: TransportEventHandler, onError: (message: string) => void,
  { authKey = null, batchIntervalMs, groupProbes = false }: { authKey?: Buffer | null; batchIntervalMs?: number; groupProbes?: boolean } = {},
): Promise<OpenedTransport> {
  if (choice.kind === 'user') {
    const transport = mode === 'icmp'
      ? await RawIcmpTransport.open(family, onEvents, (error) => onError(error.message))
      : await DgramTransport.open(family, onEvents, (error) => onError(error.message), authKey);
    return { transport, warnings: [] };
  }
  const { value: transport, warnings } = await openWithRtFallback(socket.native, async (native) => {
    const options = {
      ...native, family, timestamps: choice.stamps, onError: (event: { message: string }) => onError(event.message),
      ...(authKey !== null && mode === 'udp' ? { authKey } : {}),
      ...(batchIntervalMs === undefined ? {} : { batchIntervalMs }), groupProbes,
    };
    return mode === 'icmp'
      ? createNativeIcmpTransport(choice.addon, options, onEvents)
      : createNativeTransport(choice.addon, options, onEvents);
  });
  return { transport, warnings: [...warnings, ...transport.warnings] };
}
