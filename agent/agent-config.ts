import { isIP } from 'node:net';
import { parseHostPort } from '../shared/cli/host-port.js';

export const DEFAULT_LISTEN = '0.0.0.0:7707';

export type AgentTimestampMode = 'auto' | 'kernel' | 'hardware' | 'user';
const MODES: readonly AgentTimestampMode[] = ['auto', 'kernel', 'hardware', 'user'];

export interface AgentConfig {
  host: string;
  port: number;
  family: 4 | 6;
  timestamps: AgentTimestampMode;
}

export const AGENT_FLAG_SPEC = {
  listen: { type: 'string' },
  timestamps: { type: 'string' },
} as const;

export interface AgentFlags {
  listen?: string;
  timestamps?: string;
}

export function parseAgentConfig(flags: AgentFlags): AgentConfig | Error {
  const listen = parseHostPort('--listen', flags.listen ?? DEFAULT_LISTEN, 7707);
  if (listen instanceof Error) return listen;
  const family = isIP(listen.host);
  if (family !== 4 && family !== 6) {
    return new Error(`--listen: '${listen.host}' is not a numeric IPv4 or IPv6 address of this host`);
  }
  const timestamps = (flags.timestamps ?? 'auto') as AgentTimestampMode;
  if (!MODES.includes(timestamps)) return new Error(`--timestamps: '${flags.timestamps}' is not one of ${MODES.join(', ')}`);
  return { host: listen.host, port: listen.port, family, timestamps };
}
