import type { ProbeTransport, TransportEventHandler } from '../shared/transport/probe-transport.js';
import { DgramTransport } from './dgram-transport.js';
import type { TimestampMode } from './run-config.js';

export interface OpenedTransport {
  transport: ProbeTransport;
  warnings: string[];
}

/**
 * Picks the transport for a timestamp mode. Kernel and hardware stamps need the native
 * addon; until it is loaded the user-space transport is used and the report says so.
 */
export async function openTransport(
  mode: TimestampMode, family: 4 | 6, onEvents: TransportEventHandler, onError: (error: Error) => void,
): Promise<OpenedTransport> {
  const warnings: string[] = [];
  if (mode === 'kernel' || mode === 'hardware') {
    warnings.push(`--timestamps ${mode}: native addon not available in this build; using user-space stamps`);
  }
  return { transport: await DgramTransport.open(family, onEvents, onError), warnings };
}
