import { createNativeTransport } from '../shared/native/native-transport.js';
import type { SocketOptions } from '../shared/cli/socket-flags.js';
import type { TimestampChoice } from '../shared/cli/timestamp-choice.js';
import type { ProbeTransport, TransportEventHandler } from '../shared/transport/probe-transport.js';
import { DgramTransport } from './dgram-transport.js';

export interface OpenedTransport {
  transport: ProbeTransport;
  /** what could not be applied (RT priority, CPU, mlock): the run goes on without */
  warnings: string[];
}

/** Opens the transport the timestamp choice asks for, one per address family. */
export async function openTransport(
  choice: TimestampChoice, socket: SocketOptions, family: 4 | 6,
  onEvents: TransportEventHandler, onError: (message: string) => void,
): Promise<OpenedTransport> {
  if (choice.kind === 'user') {
    return { transport: await DgramTransport.open(family, onEvents, (error) => onError(error.message)), warnings: [] };
  }
  const transport = await createNativeTransport(choice.addon, {
    ...socket.native, family, timestamps: choice.stamps, onError: (event) => onError(event.message),
  }, onEvents);
  return { transport, warnings: [...transport.warnings] };
}
