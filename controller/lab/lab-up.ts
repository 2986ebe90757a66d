/**
 * `rtprobe lab up`: the two guests, the device model between the host and rtp-emu, an agent
 * in each namespace, and the state file. Returns the state, or an Error after which the caller
 * runs `lab down` to remove whatever was made.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { knobArgv, type KnobFlags } from './device-model-knobs.js';
import { LAB_EMU, LAB_PT, LAB_RANGE, type GuestLayout } from './lab-layout.js';
import { agentArgv, planTapGuestAfterModel, planTapGuestBeforeModel, planVethGuest, type IpArgs } from './lab-plan.js';
import { agentReady, fileExists, RTPROBE_CLI, spawnDetached, waitReady } from './lab-processes.js';
import type { LabProcess, LabState, LabTarget } from './lab-state.js';
import { writeLabState } from './lab-state.js';
import { addSafetyRoute, processArgv, runIpSteps } from './lab-system.js';

const AGENT_READY_MS = 30_000;
const DEVICE_MODEL_READY_MS = 10_000;

function target(g: GuestLayout): LabTarget {
  return { role: g.role, netns: g.netns, address: g.guestAddress, udp_port: g.udpPort, ws_url: `ws://${g.guestAddress}:${g.wsPort}` };
}

async function startAgent(g: GuestLayout, dir: string, tokenFile: string): Promise<LabProcess | Error> {
  const log = join(dir, `agent-${g.role}.log`);
  const pid = spawnDetached('ip', agentArgv(g, process.execPath, RTPROBE_CLI, tokenFile), log);
  if (pid instanceof Error) return pid;
  const error = await waitReady(`the agent in ${g.netns}`, pid, log, agentReady(log), AGENT_READY_MS);
  if (error) return error;
  // `ip netns exec` execs the agent: record the agent's own argv, checked before `down` kills.
  return { role: g.role === 'pt' ? 'agent-pt' : 'agent-emu', pid, argv: processArgv(pid) ?? [], log };
}

export async function labUp(dir: string, knobFlags: KnobFlags): Promise<LabState | Error> {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, `${randomBytes(24).toString('hex')}\n`, { mode: 0o600 });
  const statsFile = join(dir, 'device-model.json');

  const route = addSafetyRoute(LAB_RANGE);
  if (route) return route;
  const before = runIpSteps([...planVethGuest(LAB_PT), ...planTapGuestBeforeModel(LAB_EMU)]);
  if (before) return before;

  // The device model attaches to both TAPs while they are still in the root namespace.
  const modelLog = join(dir, 'device-model.log');
  const modelArgs = [RTPROBE_CLI, 'lab', 'device-model', '--tap-a', LAB_EMU.hostIf, '--tap-b', LAB_EMU.guestIf,
    '--stats-file', statsFile, ...knobArgv(knobFlags)];
  const modelPid = spawnDetached(process.execPath, modelArgs, modelLog);
  if (modelPid instanceof Error) return modelPid;
  const model: LabProcess = { role: 'device-model', pid: modelPid, argv: [process.execPath, ...modelArgs], log: modelLog };
  const processes: LabProcess[] = [model];
  const state: LabState = {
    version: 1, created: new Date().toISOString(), token_file: tokenFile, stats_file: statsFile,
    targets: [target(LAB_PT), target(LAB_EMU)], processes, knobs: knobFlags,
  };
  // Written early so that a failed or interrupted `up` is undone by `down` with its PIDs.
  writeLabState(dir, state);
  const modelError = await waitReady('the device model', modelPid, modelLog, fileExists(statsFile), DEVICE_MODEL_READY_MS);
  if (modelError) return modelError;
  model.argv = processArgv(modelPid) ?? model.argv;

  const after = runIpSteps(planTapGuestAfterModel(LAB_EMU));
  if (after) return after;

  const agents = await Promise.all([startAgent(LAB_PT, dir, tokenFile), startAgent(LAB_EMU, dir, tokenFile)]);
  for (const agent of agents) if (!(agent instanceof Error)) processes.push(agent);
  writeLabState(dir, state);
  const failed = agents.find((agent): agent is Error => agent instanceof Error);
  return failed ?? state;
}
