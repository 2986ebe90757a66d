import { loadNativeAddon, type NativeAddon } from '../native/native-addon.js';
import type { SocketOptions } from './socket-flags.js';

export type TimestampMode = 'auto' | 'kernel' | 'hardware' | 'user';
export const TIMESTAMP_MODES: readonly TimestampMode[] = ['auto', 'kernel', 'hardware', 'user'];

export type TimestampChoice =
  | { kind: 'native'; addon: NativeAddon; stamps: 'kernel' | 'hardware'; warnings: string[] }
  | { kind: 'user'; warnings: string[] };

/**
 * Decides who stamps: the native addon (kernel or NIC stamps) where it loads, else user space.
 * `auto` falls back with one warning saying why; an explicit kernel/hardware request that
 * cannot be met is an error, and so are socket options the fallback cannot apply.
 */
export function chooseTimestamps(mode: TimestampMode, socket: SocketOptions): TimestampChoice | Error {
  if (mode === 'user') {
    if (socket.given.length > 0) return new Error(`${socket.given[0]}: needs the native addon; not available with --timestamps user`);
    return { kind: 'user', warnings: [] };
  }
  if (mode === 'hardware' && socket.native.interface === undefined) {
    return new Error('--timestamps hardware: needs --interface IF (hardware stamping is enabled per NIC)');
  }
  const loaded = loadNativeAddon();
  if (loaded.ok) return { kind: 'native', addon: loaded.addon, stamps: mode === 'hardware' ? 'hardware' : 'kernel', warnings: [] };
  if (mode !== 'auto') return new Error(`--timestamps ${mode}: the native addon is not available: ${loaded.reason}`);
  if (socket.given.length > 0) {
    return new Error(`${socket.given[0]}: needs the native addon, which is not available: ${loaded.reason}`);
  }
  return { kind: 'user', warnings: [`native addon not loaded (${loaded.reason}); using user-space timestamps`] };
}
