import { WebSocket, type RawData } from 'ws';
import { MAX_CLIENT_MESSAGE_BYTES, parseAgentMessage, parseClientMessage } from '../../shared/messages/agent-messages.js';
import { describeBytes, type ViolationSample } from './fuzz-tally.js';
import { messageText } from './message-inputs.js';
import { agentMessageShapeError } from './message-shape.js';
import { Prng } from '../helpers/prng.js';

/** The agent closes a connection at its 21st bad message (agent/stats-stream.ts MAX_BAD_MESSAGES): 20 at most each. */
const BAD_PER_CONNECTION = 20;
/** and at its 201st message within a second (FLOOD_MAX_MESSAGES): well below that */
const MESSAGES_PER_CONNECTION = 150;
const SENTINEL_SESSION = 0xffff_fff0;
const ANSWER_TIMEOUT_MS = 5_000;

/** One frame to the agent, with what the agent must make of it. */
export interface LiveMessage {
  data: Buffer;
  binary: boolean;
  /** the reason the agent must count (null: valid); too-large and protocol-error end the connection */
  reason: string | null;
  type: string | null;
}

/** Message `index` of the live run: text within the agent's size limit, now and then a binary frame. */
export function liveMessage(seed: number, index: number): LiveMessage {
  const rng = Prng.forInput(seed, 'agent-ws', index);
  if (rng.chance(0.05)) return { data: rng.chance(0.5) ? rng.bytes(rng.int(200)) : Buffer.from('{"type":"subscribe","v":1}'), binary: true, reason: 'bad-json', type: null };
  let text = messageText(rng, 'client', 1500);
  // 1365 UTF-16 units are at most 4095 bytes: under the agent's frame limit (ends connections otherwise).
  if (Buffer.byteLength(text, 'utf8') > MAX_CLIENT_MESSAGE_BYTES) text = text.slice(0, 1365);
  const data = Buffer.from(text, 'utf8');
  // The agent reads the frame's UTF-8 (lone surrogates arrive as U+FFFD): judge what it reads.
  const parsed = parseClientMessage(data.toString('utf8'));
  return { data, binary: false, reason: parsed.ok ? null : parsed.reason, type: parsed.ok ? parsed.message.type : null };
}

/** A frame that ends the connection: over the size limit (1009) or not UTF-8 in a text frame (1007). */
function terminalMessage(rng: Prng): LiveMessage & { closeCode: number } {
  if (rng.chance(0.5)) {
    return { data: Buffer.alloc(MAX_CLIENT_MESSAGE_BYTES + rng.range(1, 2000), 0x20), binary: false, reason: 'too-large', type: null, closeCode: 1009 };
  }
  const bytes = Buffer.concat([Buffer.from('{"type":"'), rng.pick([Buffer.from([0xff]), Buffer.from([0xc3, 0x28]), Buffer.from([0xed, 0xa0, 0x80])]), Buffer.from('"}')]);
  return { data: bytes, binary: false, reason: 'protocol-error', type: null, closeCode: 1007 };
}

export interface WsSendResult {
  messages: number;
  valid: number;
  /** bad messages per reason, as the agent must count them */
  predicted: Record<string, number>;
  connections: number;
  errorReplies: number;
  /** connections closed by the agent other than for a terminal frame, or not closed with its code */
  wrongCloses: number;
  /** connections whose error replies differ from the bad messages sent (count or codes) */
  wrongAnswers: number;
  /** agent messages that parseAgentMessage refuses or that do not fit their declared type */
  invalidAgentMessages: number;
  samples: ViolationSample[];
}

interface Connection {
  ws: WebSocket;
  errors: string[];
  flushed: number;
  closed: Promise<number>;
  hello: Promise<void>;
}

function open(url: string, onAgentMessage: (text: string) => void): Connection {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  const c: Connection = { ws, errors: [], flushed: 0, closed: Promise.resolve(0), hello: Promise.resolve() };
  c.closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  c.hello = new Promise((resolve, reject) => {
    ws.on('error', reject);
    ws.on('message', (data: RawData) => {
      const text = Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(data as Buffer[]).toString('utf8');
      onAgentMessage(text);
      let message: { type?: unknown; code?: unknown };
      try {
        message = JSON.parse(text) as { type?: unknown; code?: unknown };
      } catch {
        return; // counted by onAgentMessage
      }
      if (message.type === 'hello') resolve();
      if (message.type === 'error') c.errors.push(String(message.code));
      if (message.type === 'flushed') c.flushed++;
    });
  });
  return c;
}

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > end) return false;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return true;
}

/**
 * Sends `count` messages to the agent's stream over as many connections as its bad-message
 * limit needs; per connection checks that each bad message got one `error` with its reason, in
 * order (a final flush, answered after everything before it, marks the end), and that only a
 * terminal frame closes it.
 */
export async function sendWsFuzz(url: string, seed: number, count: number): Promise<WsSendResult> {
  const result: WsSendResult = {
    messages: 0, valid: 0, predicted: {}, connections: 0, errorReplies: 0, wrongCloses: 0, wrongAnswers: 0, invalidAgentMessages: 0, samples: [],
  };
  const sample = (invariant: string, index: number, detail: string, data: Buffer = Buffer.alloc(0)): void => {
    if (result.samples.filter((s) => s.invariant === invariant).length < 3) result.samples.push({ invariant, index, detail, ...describeBytes(data) });
  };
  const onAgentMessage = (text: string): void => {
    const parsed = parseAgentMessage(text);
    const misfit = parsed.ok ? agentMessageShapeError(parsed.message) : `${parsed.reason}: ${parsed.detail}`;
    if (misfit === null) return;
    result.invalidAgentMessages++;
    sample('agent-messages-valid', -1, misfit, Buffer.from(text));
  };
  for (let index = 0; index < count;) {
    const c = open(url, onAgentMessage);
    result.connections++;
    const greeted = await Promise.race([c.hello.then(() => true, () => false), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ANSWER_TIMEOUT_MS))]);
    if (!greeted) {
      result.wrongCloses++;
      sample('closes-only-for-a-terminal-frame', index, `connection ${result.connections}: no hello within ${ANSWER_TIMEOUT_MS} ms`);
      c.ws.terminate();
      break;
    }
    const expected: { index: number; reason: string }[] = [];
    let flushes = 0;
    for (let sent = 0; index < count && expected.length < BAD_PER_CONNECTION && sent < MESSAGES_PER_CONNECTION; sent++, index++) {
      const message = liveMessage(seed, index);
      c.ws.send(message.data, { binary: message.binary });
      result.messages++;
      if (message.reason === null) {
        result.valid++;
        if (message.type === 'flush') flushes++;
        continue;
      }
      expected.push({ index, reason: message.reason });
      result.predicted[message.reason] = (result.predicted[message.reason] ?? 0) + 1;
    }
    const rng = Prng.forInput(seed, 'agent-ws-end', result.connections);
    let closeCode = 1005;
    if (index < count && rng.chance(0.15)) {
      const terminal = terminalMessage(rng);
      c.ws.send(terminal.data, { binary: false });
      result.messages++;
      index++;
      result.predicted[terminal.reason ?? ''] = (result.predicted[terminal.reason ?? ''] ?? 0) + 1;
      closeCode = terminal.closeCode;
      const code = await Promise.race([c.closed, new Promise<number>((resolve) => setTimeout(() => resolve(-1), ANSWER_TIMEOUT_MS))]);
      if (code !== closeCode) {
        result.wrongCloses++;
        sample('closes-only-for-a-terminal-frame', index - 1, `closed with ${code}, want ${closeCode}`, terminal.data.subarray(0, 64));
      }
    } else {
      c.ws.send(JSON.stringify({ type: 'flush', v: 1, session: SENTINEL_SESSION }));
      result.messages++;
      result.valid++;
      flushes++;
      if (!await until(() => c.flushed >= flushes || c.ws.readyState !== WebSocket.OPEN, ANSWER_TIMEOUT_MS) || c.ws.readyState !== WebSocket.OPEN) {
        result.wrongCloses++;
        sample('closes-only-for-a-terminal-frame', index - 1, `closed or unanswered: ${c.flushed}/${flushes} flushes answered`);
      }
    }
    result.errorReplies += c.errors.length;
    const want = expected.map((e) => e.reason);
    if (want.join() !== c.errors.join()) {
      result.wrongAnswers++;
      const at = want.findIndex((reason, i) => c.errors[i] !== reason);
      const first = expected[at === -1 ? want.length - 1 : at];
      sample('one-error-per-bad-message', first?.index ?? -1, `errors [${c.errors.join()}] for bad messages [${want.join()}]`,
        first === undefined ? Buffer.alloc(0) : liveMessage(seed, first.index).data);
    }
    if (c.ws.readyState === WebSocket.OPEN) c.ws.close(1000);
    await Promise.race([c.closed, new Promise((resolve) => setTimeout(resolve, ANSWER_TIMEOUT_MS))]);
  }
  return result;
}
