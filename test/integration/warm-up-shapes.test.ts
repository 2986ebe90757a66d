/**
 * The warm-up's synthetic batches must give V8 objects of the same hidden classes (maps) as a
 * real batch's, or the first real batch throws away what the warm-up compiled (issue 15:
 * `decodeRecord` "wrong map", `applyUdpReply` "wrong instance type"). A child Node with
 * --allow-natives-syntax takes a real batch from the addon (loopback, 20 probes) and asks V8
 * (%HaveSameMap) about the strings array, the datagram buffer and the peer's address.
 */
import { describe, expect, it } from 'vitest';
import { loadNativeAddon } from '../../shared/native/native-addon.js';
import { skipNote } from '../helpers/skip.js';
import { runWithNativesSyntax } from '../helpers/natives-syntax.js';

const loaded = loadNativeAddon();
const noAddon = loaded.ok ? null : `the native addon is not loaded (${loaded.reason})`;

const script = `
  const same = new Function('a', 'b', 'return %HaveSameMap(a, b)');
  const { loadAddonNotingRawBatches } = await import('./test/helpers/raw-batches.ts');
  let real = null;
  const loaded = loadAddonNotingRawBatches((batch) => {
    if (real === null && batch.mode === 'controller' && batch.strings.length > 0) real = batch;
  });
  if (!loaded.ok) throw new Error(loaded.reason);
  const { createNativeReflector } = await import('./agent/native-reflector-socket.ts');
  const { createNativeTransport } = await import('./controller/transport/native-transport.ts');
  const { encodeProbe } = await import('./shared/wire/probe-codec.ts');
  const { OFFSET_SEQ, OFFSET_T1 } = await import('./shared/wire/probe-layout.ts');
  const { warmUpBatchObjects } = await import('./controller/engine/warm-up-probe-path.ts');
  const reflector = await createNativeReflector(loaded.addon, { bindAddress: '127.0.0.1', port: 0, family: 4, timestamps: 'kernel' }, () => {});
  const transport = await createNativeTransport(loaded.addon, { family: 4, bindAddress: '127.0.0.1', port: 0 }, () => {});
  transport.start({ targets: [{ address: '127.0.0.1', port: reflector.localPort, family: 4 }], templates: [encodeProbe(1, 0n, 0n, 64)],
    seqOffset: OFFSET_SEQ, t1Offset: OFFSET_T1, periodNs: 10_000_000n, startMonoNs: process.hrtime.bigint(), probesPerTarget: 20n });
  for (let i = 0; i < 100 && real === null; i++) { await new Promise((r) => setTimeout(r, 50)); await transport.flush(); }
  await transport.close(); await reflector.close();
  if (real === null) throw new Error('no batch with a reply came');
  const warm = warmUpBatchObjects();
  console.log(JSON.stringify({
    strings: same(real.strings, warm.strings), data: same(real.data, warm.data), address: same(real.strings[0], warm.address),
    // controls: what the warm-up used before, which V8 tells apart
    literalStrings: same(real.strings, ['127.0.0.1']), plainBuffer: same(real.data, Buffer.alloc(8)),
    literalAddress: same(real.strings[0], '127.0.0.1'),
  }));
`;

describe.skipIf(noAddon !== null)(`the warm-up's batches as V8 sees them${skipNote(noAddon)}`, () => {
  it("its strings array, datagram buffer and address have a real batch's hidden classes (and the literals it used before do not)", () => {
    const shapes = runWithNativesSyntax<Record<string, boolean>>(script);
    console.log(`same map as a real batch's: ${JSON.stringify(shapes)}`);
    expect(shapes).toEqual({ strings: true, data: true, address: true, literalStrings: false, plainBuffer: false, literalAddress: false });
  });
});
