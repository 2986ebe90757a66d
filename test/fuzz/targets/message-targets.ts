import {
  CLIENT_REJECT_REASONS, parseAgentMessage, parseClientMessage, type Parsed,
} from '../../../shared/messages/agent-messages.js';
import { describeBytes } from '../fuzz-tally.js';
import { CRASHED, type DecoderTarget, type InputRecorder } from '../fuzz-target.js';
import { messageText } from '../message-inputs.js';
import { agentMessageShapeError, clientMessageShapeError } from '../message-shape.js';

function checkParsed<T extends { type: string }>(text: string, record: InputRecorder, parse: (text: string) => Parsed<T, string>,
  shapeError: (message: unknown) => string | null): void {
  const result = record.guard(() => parse(text));
  if (result === CRASHED) return;
  if (!result.ok) {
    record.rejected(result.reason);
    if (typeof result.detail !== 'string') record.violation('detail-is-text', `detail ${String(result.detail)}`);
    return;
  }
  record.accepted(result.message.type);
  const misfit = shapeError(result.message);
  // One invariant per field, so the report names every field the validator lets through.
  if (misfit !== null) record.violation(`matches-declared-type: ${misfit.split(' is ')[0] ?? misfit}`, misfit);
  let serialized: string;
  try {
    serialized = JSON.stringify(result.message);
  } catch (error) {
    // What is accepted is kept and written again (reports, logs): it must serialize.
    record.violation('round-trips', `JSON.stringify of the accepted message threw: ${(error as Error).message}`);
    return;
  }
  const again = parse(serialized);
  if (!again.ok || JSON.stringify(again.message) !== serialized) {
    record.violation('round-trips', again.ok ? `re-parsed as ${JSON.stringify(again.message)}` : `re-parse: ${again.reason}`);
  }
}

/** parseClientMessage (shared/messages/agent-messages.ts): what an agent's stream reads from a controller. */
export const clientMessageTarget: DecoderTarget<string> = {
  name: 'ws-client-msg',
  decoder: 'parseClientMessage',
  reasons: CLIENT_REJECT_REASONS,
  generate: (rng) => messageText(rng, 'client'),
  describe: (input) => describeBytes(input),
  check: (text, record) => checkParsed(text, record, parseClientMessage, clientMessageShapeError),
};

/** parseAgentMessage: what a controller reads from an agent (it trusts nothing it receives either). */
export const agentMessageTarget: DecoderTarget<string> = {
  name: 'ws-agent-msg',
  decoder: 'parseAgentMessage',
  reasons: CLIENT_REJECT_REASONS,
  generate: (rng) => messageText(rng, 'agent'),
  describe: (input) => describeBytes(input),
  check: (text, record) => checkParsed(text, record, parseAgentMessage, agentMessageShapeError),
};
