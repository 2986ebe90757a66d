import { describe, it, expect } from 'vitest';
import { RunState } from '../../../controller/matching/run-state.js';
import { NativeBatchRunState } from '../../helpers/packed-transport-events.js';
import { encodeProbe, encodeRefusal } from '../../../shared/wire/probe-codec.js';
import { signDatagram } from '../../../shared/wire/probe-auth.js';
import type { RefusalReason } from '../../../shared/wire/probe-layout.js';
import { OFFSET_FLAGS } from '../../../shared/wire/probe-layout.js';
import {
  SEC, SESSION_A, SESSION_B, TARGET_A, TARGET_B, dueAt, makeStats, missed, replyBytes, rx, sent, tx,
} from './run-fixture.js';

function counts(state: RunState, target: number) {
  const stats = state.targets[target];
  if (!stats) throw new Error(`no target ${target}`);
  const m = stats.matcher;
  return {
    sent: m.sent, received: m.received, lost: m.lost, late: m.late, duplicates: m.duplicates,
    reordered: m.reordered, missed: stats.missedSendSlots,
  };
}

function target(state: RunState, index: number) {
  const stats = state.targets[index];
  if (!stats) throw new Error(`no target ${index}`);
  return stats;
}

// Every case twice: with the events as objects (a user-space transport's, and what the state
// was written for), and packed as a controller's native thread hands them over, the probe
// records read in place (RunState.applyRecords).
describe.each([
  ['event objects', RunState],
  ['native batches', NativeBatchRunState],
])('%s', (_delivery, State) => {
  describe('RunState', () => {
    it('counts a synthetic run: received, lost, duplicate, reordered, missed slots', () => {
      const state = new State(makeStats());
      // given 10 probes to target A, each with its TX stamp, and slot 10 missed
      for (let seq = 0n; seq < 10n; seq++) state.apply([sent(0, seq), tx(0, seq)]);
      state.apply([missed(0, 10n)]);
      // when every probe but 3 is answered, 5 twice, 7 after 8
      for (const seq of [0n, 1n, 2n, 4n, 5n, 6n, 8n, 7n, 9n]) state.apply([rx(replyBytes(SESSION_A, seq), seq, 100_000n + seq)]);
      state.apply([rx(replyBytes(SESSION_A, 5n), 5n, 300_000n)]);
      state.expire(dueAt(3n) + 10n * SEC + 2_000n);
      // then
      expect(counts(state, 0)).toEqual({ sent: 10, received: 9, lost: 1, late: 0, duplicates: 1, reordered: 1, missed: 1 });
      expect(counts(state, 1)).toEqual({ sent: 0, received: 0, lost: 0, late: 0, duplicates: 0, reordered: 0, missed: 0 });
      const a = target(state, 0);
      expect(a.rtt.count).toBe(9);
      expect(a.rtt.summary()).toMatchObject({ min: 100_000, max: 100_009 });
      expect(a.lastRttNs).toBe(100_009);
      expect(a.worst.entries.map((w) => w.seq)).toEqual([9n, 8n, 7n, 6n, 5n, 4n, 2n, 1n, 0n]);
      expect(a.rejects).toEqual({});
      expect(state.strayRejects).toEqual({});
    });

    it("judges loss at the transports' read horizon: a reply that came in time but waits in a native batch is not called lost", () => {
      const state = new State(makeStats());
      // the batch with the sends: its thread had read the socket until the second send
      state.apply([sent(0, 0n), tx(0, 0n), sent(0, 1n), tx(0, 1n)], 'udp', 4, dueAt(1n));
      // 11 s on (loss after 10 s) the next batch has not come: nothing can be called lost yet
      state.expire(dueAt(1n) + 11n * SEC);
      expect(counts(state, 0)).toMatchObject({ sent: 2, received: 0, lost: 0 });
      // it comes: probe 0's reply, read in time; none for probe 1, and the socket read until now
      state.apply([rx(replyBytes(SESSION_A, 0n), 0n, 100_000n)], 'udp', 4, dueAt(1n) + 11n * SEC);
      state.expire(dueAt(1n) + 11n * SEC);
      expect(counts(state, 0)).toMatchObject({ sent: 2, received: 1, lost: 1 });
      expect(target(state, 0).rejects).toEqual({});
      // a transport without batches (user space) is judged at the time given
      const direct = new State(makeStats());
      direct.apply([sent(0, 0n), tx(0, 0n)]);
      direct.expire(dueAt(0n) + 11n * SEC);
      expect(counts(direct, 0)).toMatchObject({ sent: 1, lost: 1 });
    });

    it("a TX stamp folded into the 'sent' event counts as the 'tx' event it stands for", () => {
      const separate = new State(makeStats());
      const folded = new State(makeStats());
      for (let seq = 0n; seq < 5n; seq++) {
        separate.apply([sent(0, seq), tx(0, seq, 3_000n)]);
        // the stamp read before the batch left: one event
        folded.apply([{ ...sent(0, seq), txNs: tx(0, seq, 3_000n).txNs, txSource: 'kernel' }]);
      }
      for (const state of [separate, folded]) {
        for (let seq = 0n; seq < 5n; seq++) state.apply([rx(replyBytes(SESSION_A, seq), seq, 100_000n + seq)]);
      }
      expect(counts(folded, 0)).toEqual(counts(separate, 0));
      // RTT from the stamp (sent 2 µs late, stamped 3 µs late): 1 µs shorter than from sentMonoNs
      expect(target(folded, 0).rtt.summary()).toEqual(target(separate, 0).rtt.summary());
      expect(target(folded, 0).rtt.summary()).toMatchObject({ min: 99_000, max: 99_004 });
    });

    it("with a key, the transport's verdict on a reply's tag decides; a reply it did not check is checked here", () => {
      const key = Buffer.from('k'.repeat(32));
      const state = new State(makeStats(), key);
      for (let seq = 0n; seq < 4n; seq++) state.apply([sent(0, seq), tx(0, seq)]);
      const signed = (seq: bigint): Buffer => {
        const reply = replyBytes(SESSION_A, seq);
        signDatagram(reply, key);
        return reply;
      };
      // the native thread checked these (with the key it signs probes with)
      state.apply([{ ...rx(signed(0n), 0n, 100_000n), auth: 'genuine' }]);
      state.apply([{ ...rx(signed(1n), 1n, 100_000n), auth: 'bad-auth' }]);
      state.apply([{ ...rx(replyBytes(SESSION_A, 2n), 2n, 100_000n), auth: 'unauthenticated' }]);
      // a transport that does not check (user space): the tag is checked in JS
      state.apply([{ ...rx(replyBytes(SESSION_A, 3n), 3n, 100_000n), auth: null }]);
      expect(counts(state, 0).received).toBe(1);
      expect(target(state, 0).rejects).toEqual({ 'bad-auth': 1, unauthenticated: 2 });
    });

    it('expireIfDue resolves loss at most once per interval, however many batches come', () => {
      const state = new State(makeStats());
      state.apply([sent(0, 0n), tx(0, 0n)]);
      const lostAt = dueAt(0n) + 10n * SEC + 2_000n;
      const every = 100_000_000n;
      // a batch at the loss deadline resolves the probe (the first call is always due)
      state.expireIfDue(lostAt, every);
      expect(counts(state, 0).lost).toBe(1);
      // a second probe, lost 10 ms later, waits for the next interval
      state.apply([sent(0, 1n), tx(0, 1n)]);
      expect(dueAt(1n) + 10n * SEC + 2_000n).toBeLessThan(lostAt + every - 1n);
      state.expireIfDue(lostAt + every - 1n, every);
      expect(counts(state, 0).lost).toBe(1);
      state.expireIfDue(lostAt + every, every);
      expect(counts(state, 0).lost).toBe(2);
    });

    it('records the guest turnaround from T3 − T2 once per accepted reply, and the agent stamp sources', () => {
      const state = new State(makeStats());
      state.apply([sent(0, 0n), tx(0, 0n), sent(0, 1n), tx(0, 1n)]);
      state.apply([rx(replyBytes(SESSION_A, 0n, 25_000n, 64, ['kernel', 'hardware']), 0n, 90_000n)]);
      state.apply([rx(replyBytes(SESSION_A, 1n, 43_000n, 64, ['kernel', 'hardware']), 1n, 90_000n)]);
      state.apply([rx(replyBytes(SESSION_A, 1n, 99_000n, 64, ['kernel', 'hardware']), 1n, 95_000n)]); // duplicate
      const a = target(state, 0);
      expect(a.turnaround.summary()).toMatchObject({ count: 2, min: 25_000, max: 43_000 });
      expect(a.agentStamps).toEqual({ t2: 'kernel', t3: 'hardware' });
    });

    it('does not record a turnaround when the agent did not stamp T2/T3', () => {
      const state = new State(makeStats());
      state.apply([sent(0, 0n), tx(0, 0n)]);
      const data = replyBytes(SESSION_A, 0n);
      data.writeUInt16BE(0, OFFSET_FLAGS); // sources 'none'
      state.apply([rx(data, 0n, 90_000n)]);
      const a = target(state, 0);
      expect(a.matcher.received).toBe(1);
      expect(a.turnaround.count).toBe(0);
      expect(a.agentStamps).toEqual({ t2: 'none', t3: 'none' });
    });

    it('records the send-schedule error (sent − due) of every probe', () => {
      const state = new State(makeStats());
      state.apply([sent(0, 0n, 1_000n), sent(0, 1n, 7_000n), sent(0, 2n, 3_000_000n), sent(1, 0n, 4_000n)]);
      expect(target(state, 0).sendError.summary()).toMatchObject({ count: 3, min: 1_000, max: 3_000_000 });
      expect(target(state, 1).sendError.summary()).toMatchObject({ count: 1, min: 4_000, max: 4_000 });
    });

    it('a reply before its TX stamp is completed by the TX event', () => {
      const state = new State(makeStats());
      state.apply([sent(0, 0n), rx(replyBytes(SESSION_A, 0n), 0n, 60_000n)]);
      expect(target(state, 0).rtt.count).toBe(0);
      state.apply([tx(0, 0n)]);
      expect(target(state, 0).rtt.summary()).toMatchObject({ count: 1, min: 60_000 });
    });

    it('a late reply is counted late and recorded with its real RTT', () => {
      const state = new State(makeStats());
      state.apply([sent(0, 0n), tx(0, 0n), rx(replyBytes(SESSION_A, 0n), 0n, 1_500_000_000n)]);
      expect(counts(state, 0)).toMatchObject({ received: 1, late: 1 });
      expect(target(state, 0).rtt.summary()).toMatchObject({ count: 1, max: 1_500_000_000 });
    });

    it('routes replies by session to their own target', () => {
      const state = new State(makeStats());
      state.apply([sent(0, 0n), tx(0, 0n), sent(1, 0n), tx(1, 0n)]);
      state.apply([rx(replyBytes(SESSION_B, 0n), 0n, 70_000n, TARGET_B), rx(replyBytes(SESSION_A, 0n), 0n, 50_000n)]);
      expect(target(state, 0).rtt.summary()).toMatchObject({ count: 1, min: 50_000 });
      expect(target(state, 1).rtt.summary()).toMatchObject({ count: 1, min: 70_000 });
    });

    it('wrong-source: a reply for our session from another address or port', () => {
      const state = new State(makeStats());
      state.apply([sent(0, 0n), tx(0, 0n)]);
      state.apply([rx(replyBytes(SESSION_A, 0n), 0n, 50_000n, { ...TARGET_A, address: '127.0.0.2' })]);
      state.apply([rx(replyBytes(SESSION_A, 0n), 0n, 50_000n, { ...TARGET_A, port: 7708 })]);
      expect(target(state, 0).rejects).toEqual({ 'wrong-source': 2 });
      expect(counts(state, 0)).toMatchObject({ received: 0, duplicates: 0 });
      // the genuine reply, seen through an IPv4-mapped IPv6 address, is still accepted
      state.apply([rx(replyBytes(SESSION_A, 0n), 0n, 50_000n, { ...TARGET_A, address: '::ffff:127.0.0.1' })]);
      expect(counts(state, 0)).toMatchObject({ received: 1 });
    });

    it('unknown-session: a reply for a session this run did not start is a stray reject', () => {
      const state = new State(makeStats());
      state.apply([sent(0, 0n), tx(0, 0n), rx(replyBytes(0x33333333, 0n), 0n, 50_000n)]);
      expect(state.strayRejects).toEqual({ 'unknown-session': 1 });
      expect(target(state, 0).rejects).toEqual({});
      expect(counts(state, 0)).toMatchObject({ received: 0 });
    });

    it('bad-type: our own probe echoed back unchanged', () => {
      const state = new State(makeStats());
      state.apply([sent(0, 0n), tx(0, 0n), rx(encodeProbe(SESSION_A, 0n, 1n, 64), 0n, 50_000n)]);
      expect(target(state, 0).rejects).toEqual({ 'bad-type': 1 });
      expect(counts(state, 0)).toMatchObject({ received: 0 });
    });

    it('malformed datagrams are stray rejects with the decoder reason', () => {
      const state = new State(makeStats());
      const badMagic = replyBytes(SESSION_A, 0n);
      badMagic.writeUInt32BE(0, 0);
      const badLength = Buffer.concat([replyBytes(SESSION_A, 0n), Buffer.alloc(1)]);
      state.apply([
        rx(Buffer.alloc(10), 0n, 1n), rx(badMagic, 0n, 1n), rx(badMagic, 0n, 1n), rx(badLength, 0n, 1n),
      ]);
      expect(state.strayRejects).toEqual({ short: 1, 'bad-magic': 2, 'bad-length': 1 });
      expect(target(state, 0).rejects).toEqual({});
    });

    it('unknown-seq and expired replies are counted on their target', () => {
      const state = new State(makeStats());
      state.apply([sent(0, 0n), tx(0, 0n)]);
      state.apply([rx(replyBytes(SESSION_A, 5n), 5n, 50_000n)]);
      state.expire(dueAt(0n) + 10n * SEC + 2_000n);
      state.apply([rx(replyBytes(SESSION_A, 0n), 0n, 11n * SEC)]);
      expect(target(state, 0).rejects).toEqual({ 'unknown-seq': 1, expired: 1 });
      expect(counts(state, 0)).toMatchObject({ sent: 1, received: 0, lost: 1 });
      expect(target(state, 0).rtt.count).toBe(0);
    });

    it('finish() declares the unanswered lost; done events are counted', () => {
      const state = new State(makeStats());
      state.apply([sent(0, 0n), tx(0, 0n), sent(1, 0n), tx(1, 0n), { kind: 'done' }]);
      state.apply([{ kind: 'done' }]);
      expect(state.doneTransports).toBe(2);
      state.finish();
      expect(counts(state, 0)).toMatchObject({ sent: 1, lost: 1 });
      expect(counts(state, 1)).toMatchObject({ sent: 1, lost: 1 });
    });

    it('events for a target index it does not know are ignored', () => {
      const state = new State(makeStats());
      expect(() => state.apply([sent(-1, 0n), tx(5, 0n), missed(7, 0n)])).not.toThrow();
      expect(counts(state, 0)).toMatchObject({ sent: 0, missed: 0 });
    });

    it('missed slots count per target', () => {
      const state = new State(makeStats());
      state.apply([missed(0, 3n), missed(0, 4n), missed(1, 4n)]);
      expect(counts(state, 0).missed).toBe(2);
      expect(counts(state, 1).missed).toBe(1);
      expect(target(state, 0).matcher.sent).toBe(0);
    });
  });

  describe('RunState: refusals', () => {
    const KEY = Buffer.from('a-key-of-at-least-16-chars');
    const refusalBytes = (session: number, seq: bigint, reason: RefusalReason = 'session-limit', detail = 16): Buffer =>
      encodeRefusal(encodeProbe(session, seq, 1n, 64), reason, detail);

    it('a probe whose refusal arrived is refused, by reason, not lost and not received; the last refusal keeps its detail', () => {
      const state = new State(makeStats());
      for (let seq = 0n; seq < 4n; seq++) state.apply([sent(0, seq), tx(0, seq)]);
      state.apply([rx(replyBytes(SESSION_A, 0n), 0n, 100_000n)]);
      state.apply([rx(refusalBytes(SESSION_A, 1n), 1n, 50_000n)]);
      state.apply([rx(refusalBytes(SESSION_A, 2n, 'rate-limited', 200), 2n, 50_000n)]);
      state.apply([rx(refusalBytes(SESSION_A, 2n), 2n, 60_000n)]); // a second refusal of 2: nothing
      state.apply([rx(refusalBytes(SESSION_A, 0n), 0n, 60_000n)]); // after the reply: nothing
      state.apply([rx(refusalBytes(SESSION_A, 9n), 9n, 60_000n)]); // never sent
      state.expire(dueAt(3n) + 10n * SEC + 2_000n);
      const a = target(state, 0);
      expect(counts(state, 0)).toMatchObject({ sent: 4, received: 1, lost: 1 });
      expect(a.matcher.refused).toBe(2);
      expect(a.matcher.inFlight).toBe(0);
      expect(a.refused).toEqual({ 'session-limit': 1, 'rate-limited': 1 });
      expect(a.lastRefusal).toEqual({ reason: 'rate-limited', detail: 200, scope: 'agent' });
      expect(a.rejects).toEqual({ 'unknown-seq': 1 });
      expect(a.rtt.count).toBe(1);
    });

    it('with --key-file an unsigned or forged refusal is counted, not believed; a signed one is', () => {
      const state = new State(makeStats(), KEY);
      for (let seq = 0n; seq < 3n; seq++) state.apply([sent(0, seq), tx(0, seq)]);
      state.apply([rx(refusalBytes(SESSION_A, 0n), 0n, 50_000n)]);
      const forged = refusalBytes(SESSION_A, 1n);
      signDatagram(forged, Buffer.from('another-key-of-16-chars!'));
      state.apply([rx(forged, 1n, 50_000n)]);
      const genuine = refusalBytes(SESSION_A, 2n, 'unauthenticated', 0);
      signDatagram(genuine, KEY);
      state.apply([rx(genuine, 2n, 50_000n)]);
      const a = target(state, 0);
      expect(a.rejects).toEqual({ unauthenticated: 1, 'bad-auth': 1 });
      expect(a.refused).toEqual({ unauthenticated: 1 });
      expect(a.matcher.refused).toBe(1);
      expect(a.matcher.inFlight).toBe(2);
    });

    it('a refusal from another port or address is wrong-source', () => {
      const state = new State(makeStats());
      state.apply([sent(0, 0n), tx(0, 0n)]);
      state.apply([rx(refusalBytes(SESSION_A, 0n), 0n, 50_000n, { ...TARGET_A, port: 1 })]);
      state.apply([rx(refusalBytes(SESSION_A, 0n), 0n, 50_000n, { ...TARGET_A, address: '127.0.0.2' })]);
      expect(target(state, 0).rejects).toEqual({ 'wrong-source': 2 });
      expect(target(state, 0).refused).toEqual({});
    });
  });
});
