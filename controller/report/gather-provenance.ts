import { RTPROBE_VERSION } from '../../shared/cli/build-info.js';
import type { SocketOptions } from '../../shared/cli/socket-flags.js';
import { gatherHostFacts } from '../../shared/report/host-facts.js';
import { appliedRtSettings, requestedRt } from '../../shared/report/rt-settings.js';
import type { StampSource } from '../../shared/transport/probe-transport.js';
import type { TargetStats } from '../recording/target-stats.js';
import type { Provenance, SenderProvenance } from './provenance.js';

/** The lab's guests live in 10.254.20.0/22 (controller/lab/lab-layout.ts LAB_RANGE). */
const MAY_BE_LAB = /^10\.254\.(2[0-3])\./;

/** The finished measurement must never be lost to its provenance: any failure here is "no lab". */
async function labOf(addresses: readonly string[]): Promise<Provenance['lab']> {
  try {
    return (await import('../lab/lab-provenance.js')).labProvenance(addresses);
  } catch {
    return null;
  }
}

/**
 * Everything a run's report says about where it came from. Reads the host (and the lab's
 * state file when a target is in the lab's range: its code is loaded only then).
 */
export async function gatherRunProvenance(argv: readonly string[], socket: SocketOptions, stampSource: StampSource,
  rtWarnings: readonly string[], stats: readonly TargetStats[], load: unknown[] | null,
  senders?: SenderProvenance[]): Promise<Provenance> {
  const addresses = stats.map((s) => s.target.address);
  const lab = addresses.some((a) => MAY_BE_LAB.test(a)) ? await labOf(addresses) : null;
  return {
    rtprobe_version: RTPROBE_VERSION,
    command_line: ['rtprobe', ...argv],
    node_version: process.version,
    host: gatherHostFacts(),
    rt: appliedRtSettings(requestedRt(socket), rtWarnings, stampSource === 'user' ? 'user' : 'native', socket.requireRt),
    ...(senders === undefined ? {} : { senders }),
    load,
    lab,
    agents: stats.filter((s) => s.agent).map((s) => {
      const hello = s.agent?.hello;
      if (!hello) return { target: s.target.name, hello: null };
      const { type: _type, v: _v, first_id: _first, last_id: _last, ...own } = hello;
      return { target: s.target.name, ...own };
    }),
  };
}
