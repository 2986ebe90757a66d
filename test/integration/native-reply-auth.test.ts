import { afterEach, describe, expect, it } from 'vitest';
import { createNativeTransport, type NativeTransport } from '../../controller/transport/native-transport.js';
import { loadNativeAddon } from '../../shared/native/native-addon.js';
import type { RxEvent, TransportEvent } from '../../shared/transport/probe-transport.js';
import { signDatagram } from '../../shared/wire/probe-auth.js';
import { encodeProbe } from '../../shared/wire/probe-codec.js';
import { OFFSET_SEQ, OFFSET_T1 } from '../../shared/wire/probe-layout.js';
import { fakeAgent } from '../helpers/fake-agent.js';
import { skipNote } from '../helpers/skip.js';
import { waitFor } from '../helpers/wait-for.js';

const loaded = loadNativeAddon();
const noAddon = loaded.ok ? null : `the native addon is not loaded (${loaded.reason})`;
const KEY = Buffer.from('k'.repeat(32));
const OTHER_KEY = Buffer.from('o'.repeat(32));
const SESSION = 0x5eed;
const PROBES = 30;

const toClose: Array<{ close(): Promise<void> | void }> = [];
afterEach(async () => {
  for (const c of toClose.splice(0)) await c.close();
});

describe.skipIf(noAddon !== null)(`--key-file: the native controller checks each reply's tag on its thread${skipNote(noAddon)}`, () => {
  it('genuine, signed with another key, unsigned: each reply carries the verdict on its tag', async () => {
    if (!loaded.ok) return;
    // A fake agent: seq % 3 == 0 signed with the run's key, 1 with another, 2 not at all.
    const agent = await fakeAgent((reply, seq) => {
      if (seq % 3n === 0n) signDatagram(reply, KEY);
      else if (seq % 3n === 1n) signDatagram(reply, OTHER_KEY);
    });
    toClose.push(agent);

    const events: TransportEvent[] = [];
    const transport: NativeTransport = await createNativeTransport(loaded.addon,
      { family: 4, bindAddress: '127.0.0.1', port: 0, authKey: KEY }, (batch) => events.push(...batch));
    toClose.push(transport);
    transport.start({
      targets: [{ address: '127.0.0.1', port: agent.port, family: 4 }],
      templates: [encodeProbe(SESSION, 0n, 0n, 64)],
      seqOffset: OFFSET_SEQ,
      t1Offset: OFFSET_T1,
      periodNs: 2_000_000n,
      startMonoNs: process.hrtime.bigint() + 2_000_000n,
      probesPerTarget: BigInt(PROBES),
    });
    const replies = (): RxEvent[] => events.filter((e): e is RxEvent => e.kind === 'rx');
    await waitFor(() => replies().length >= PROBES, { what: () => `${replies().length} replies`, timeoutMs: 10_000 });

    const verdictOf = new Map(replies().map((rx) => [rx.data.readBigUInt64BE(OFFSET_SEQ), rx.auth]));
    for (let seq = 0n; seq < BigInt(PROBES); seq++) {
      expect(verdictOf.get(seq), `seq ${seq}`).toBe(['genuine', 'bad-auth', 'unauthenticated'][Number(seq % 3n)]);
    }
  });

  it('without a key nothing is checked: the verdict is null and JS would check, were there a key', async () => {
    if (!loaded.ok) return;
    const agent = await fakeAgent(() => {});
    toClose.push(agent);
    const events: TransportEvent[] = [];
    const transport = await createNativeTransport(loaded.addon, { family: 4, bindAddress: '127.0.0.1', port: 0 }, (batch) => events.push(...batch));
    toClose.push(transport);
    transport.start({
      targets: [{ address: '127.0.0.1', port: agent.port, family: 4 }],
      templates: [encodeProbe(SESSION, 0n, 0n, 64)],
      seqOffset: OFFSET_SEQ, t1Offset: OFFSET_T1, periodNs: 2_000_000n,
      startMonoNs: process.hrtime.bigint() + 2_000_000n, probesPerTarget: 5n,
    });
    await waitFor(() => events.filter((e) => e.kind === 'rx').length >= 5, { what: 'replies', timeoutMs: 10_000 });
    expect(events.filter((e): e is RxEvent => e.kind === 'rx').every((rx) => rx.auth === null)).toBe(true);
  });
});
