import { isIP } from 'node:net';
import { parsePort } from './parse-values.js';

export interface HostPort { host: string; port: number }

/**
 * "HOST", "HOST:PORT", "[V6]:PORT", "[V6]" or a bare IPv6 address. The port falls back to
 * `defaultPort`. Host names are allowed here and resolved by the caller.
 */
export function parseHostPort(flag: string, text: string, defaultPort: number): HostPort | Error {
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  let host: string;
  let portText: string | undefined;
  if (bracketed) {
    host = bracketed[1] ?? '';
    portText = bracketed[2];
  } else if (isIP(text) === 6) {
    host = text;
  } else {
    const colon = text.lastIndexOf(':');
    if (colon >= 0 && text.indexOf(':') !== colon) {
      return new Error(`${flag}: '${text}' is ambiguous; write IPv6 with a port as [ADDR]:PORT`);
    }
    host = colon >= 0 ? text.slice(0, colon) : text;
    portText = colon >= 0 ? text.slice(colon + 1) : undefined;
  }
  if (host === '' || /[\s/]/.test(host)) return new Error(`${flag}: '${text}' has no valid host`);
  if (bracketed && isIP(host) !== 6) return new Error(`${flag}: '${host}' in brackets is not an IPv6 address`);
  // Digits and dots only: meant as an IPv4 address, never a host name to look up.
  if (/^[\d.]+$/.test(host) && isIP(host) !== 4) return new Error(`${flag}: '${host}' is not a valid IPv4 address`);
  if (portText === undefined) return { host, port: defaultPort };
  const port = parsePort(flag, portText);
  return port instanceof Error ? port : { host, port };
}
