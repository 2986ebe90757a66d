import { decodeEventRecords, packEventRecords, RecordField, type PackedEvent } from '../../shared/native/event-records.js';
import type { StampSource, TransportEvent } from '../../shared/transport/probe-transport.js';
import { RunState } from '../../controller/matching/run-state.js';

// events.h StampSource and addon.cc's tag verdicts (0: not checked)
const SOURCE_CODES: Record<StampSource, number> = { user: 1, kernel: 2, hardware: 3 };
const AUTH_CODES = { genuine: 1, unauthenticated: 2, 'bad-auth': 3 } as const;

/**
 * Transport events packed as a controller's native thread packs them (addon.cc PackRecord),
 * then decoded as a run decodes them: the probe records grouped in one ProbeRecordsEvent.
 * What RunState gets from the addon, made from the events a test writes.
 */
export function asNativeBatch(events: readonly TransportEvent[]): TransportEvent[] {
  const strings: string[] = [];
  const datagrams: Buffer[] = [];
  let dataBytes = 0;
  const stringIndex = (text: string): number => (strings.includes(text) ? strings.indexOf(text) : strings.push(text) - 1);
  const packed = events.map((event): PackedEvent => {
    switch (event.kind) {
      case 'sent': {
        const folded = event.txNs !== undefined && event.txNs !== null;
        return { kind: 0, target: event.target, fields: {
          [RecordField.Seq]: event.seq, [RecordField.Slot]: event.slot, [RecordField.DueMonoNs]: event.dueMonoNs,
          [RecordField.SentMonoNs]: event.sentMonoNs, [RecordField.T1RealNs]: event.t1RealNs,
          [RecordField.StampNs]: folded ? event.txNs ?? 0n : 0n,
          [RecordField.Count]: folded ? BigInt(SOURCE_CODES[event.txSource ?? 'user']) : 0n } };
      }
      case 'tx':
        return { kind: 1, target: event.target, source: SOURCE_CODES[event.source],
          fields: { [RecordField.Seq]: event.seq, [RecordField.StampNs]: event.txNs } };
      case 'missed':
        return { kind: 2, target: event.target, fields: { [RecordField.Slot]: event.slot, [RecordField.DueMonoNs]: event.dueMonoNs,
          [RecordField.Count]: BigInt(event.count) } };
      case 'rx': {
        const at = dataBytes;
        datagrams.push(event.data);
        dataBytes += event.data.length;
        return { kind: 3, source: SOURCE_CODES[event.source], port: event.port, string: stringIndex(event.address), data: [at, event.data.length],
          fields: { [RecordField.StampNs]: event.rxNs, [RecordField.RxMonoNs]: event.rxMonoNs,
            [RecordField.Count]: BigInt(event.auth ? AUTH_CODES[event.auth] : 0) } };
      }
      case 'unreachable':
        return { kind: 10, target: event.target, string: stringIndex(event.reason), fields: { [RecordField.Count]: BigInt(event.count) } };
      case 'done':
        return { kind: 4 };
      case 'records':
        throw new Error('asNativeBatch: events already packed');
    }
  });
  const decoded = decodeEventRecords(packEventRecords(packed), strings, Buffer.concat([...datagrams, Buffer.alloc(1)]), packed.length, true);
  return decoded as TransportEvent[];
}

/** A RunState that gets every batch the way a native run hands it over (asNativeBatch). */
export class NativeBatchRunState extends RunState {
  override apply(events: TransportEvent[], mode: 'udp' | 'icmp' = 'udp', family: 4 | 6 = 4, readUntilMonoNs?: bigint): void {
    super.apply(asNativeBatch(events), mode, family, readUntilMonoNs);
  }
}
