import type { ReflectedEvent, ReflectTxEvent } from '../../shared/native/native-addon.js';
import type { SentEvent, TxStampEvent } from '../../shared/transport/probe-transport.js';

/**
 * The native threads fold a probe's (or reply's) TX stamp into its 'sent' ('reflected') event
 * when they read it before the batch left. Tests that check every stamp see them unfolded, as
 * the 'tx' ('reflect-tx') events they stand for, and count how many were folded.
 */
export function unfoldTxStamps<E extends { kind: string }>(events: E[], onFolded: () => void = () => {}): E[] {
  const out: E[] = [];
  for (const event of events) {
    out.push(event);
    if (event.kind === 'sent') {
      const sent = event as unknown as SentEvent;
      if (sent.txNs === undefined || sent.txNs === null) continue;
      onFolded();
      const tx: TxStampEvent = { kind: 'tx', target: sent.target, seq: sent.seq, txNs: sent.txNs, source: sent.txSource ?? 'user' };
      out.push(tx as unknown as E);
    } else if (event.kind === 'reflected') {
      const reflected = event as unknown as ReflectedEvent;
      if (reflected.txNs === null) continue;
      onFolded();
      const tx: ReflectTxEvent = { kind: 'reflect-tx', session: reflected.session, seq: reflected.seq, txNs: reflected.txNs,
        source: reflected.txSource ?? 'user', t2Ns: reflected.t2Ns };
      out.push(tx as unknown as E);
    }
  }
  return out;
}
