import dgram from 'node:dgram';
import { decodeProbe, encodeRefusal, encodeReply } from '../../shared/wire/probe-codec.js';

export interface FakeAgent { port: number; close: () => Promise<void> }

/**
 * A fake agent on 127.0.0.1 that answers every probe (not the run's session-end) with a reply
 * (or, with `refuse`, a session-limit refusal) that `sign` may sign, knowing the probe's seq.
 */
export async function fakeAgent(sign: (reply: Buffer, seq: bigint) => void, refuse = false): Promise<FakeAgent> {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (data, rinfo) => {
    const decoded = decodeProbe(data);
    if (!decoded.ok || decoded.packet.type !== 'probe') return;
    const reply = refuse ? encodeRefusal(data, 'session-limit', 16) : encodeReply(data, 1n, 2n, 'user', 'user');
    sign(reply, decoded.packet.seq);
    socket.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, close: () => new Promise((resolve) => socket.close(() => resolve())) };
}
