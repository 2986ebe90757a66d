/**
 * The guest's /init (busybox sh), written by the host when it builds the image. It mounts what
 * Node and the agent need, loads the NIC drivers, gives each NIC (found by MAC) its address,
 * takes the stream token from the kernel command line (so a new token needs no new image), and
 * runs the agent from the bundle, restarting it if it ends. Pure: the plan in, the text out.
 *
 * Lines the host waits for on the serial console:
 *   rtprobe-guest: up <uptime s>        init started (the kernel has booted)
 *   listening udp …                      the agent's own ready line
 *   guest-exec listening …               the load service's (guest-exec.ts)
 */
import { GUEST_EXEC_PORT } from './guest-exec.js';
import type { GuestNic } from './guest-nics.js';

export const GUEST_BUNDLE_DIR = '/opt/rtprobe';
export const GUEST_UP_MARKER = 'rtprobe-guest: up';
export const GUEST_TOKEN_PARAM = 'rtprobe.token';
export const GUEST_UDP_PORT = 7707;
export const GUEST_WS_PORT = 7708;

/**
 * The guest agent measures its own timer latency, so every lab report can tell a guest
 * scheduled late from a slow NIC path (agent --timer-latency, SCHED_FIFO 95). Every 1 ms as
 * cyclictest under KVM; under TCG every wake-up is emulated at a high cost: at 1 ms the
 * guest's one vCPU was so busy that compare's RTT p50 rose to 237 ms (max 792 ms), at 10 ms
 * it stays at 1-2 ms, so 10 ms there.
 */
export function guestAgentTimerFlags(accel: 'kvm' | 'tcg'): string[] {
  return ['--timer-latency', '--timer-interval', accel === 'kvm' ? '1ms' : '10ms'];
}

export interface GuestInitPlan {
  /** module paths relative to /lib/modules/VERSION, in load order */
  modules: readonly string[];
  kernelVersion: string;
  nics: readonly GuestNic[];
  /** extra agent flags (e.g. the timer latency thread) */
  agentFlags?: readonly string[];
}

const quote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

export function guestInitScript(plan: GuestInitPlan): string {
  const moduleDir = `/lib/modules/${plan.kernelVersion}`;
  const agent = [
    `${GUEST_BUNDLE_DIR}/rtprobe`, 'agent', '--listen', `0.0.0.0:${GUEST_UDP_PORT}`, '--ws', `0.0.0.0:${GUEST_WS_PORT}`,
    '--token-file', '/run/rtprobe/token', ...(plan.agentFlags ?? []),
  ].map(quote).join(' ');
  return `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /run /tmp && mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /tmp
echo "${GUEST_UP_MARKER} $(cut -d' ' -f1 /proc/uptime)"
${plan.modules.map((m) => `insmod ${quote(`${moduleDir}/${m}`)} || echo "rtprobe-guest: insmod ${m} failed"`).join('\n')}
ip link set lo up
${plan.nics.map((nic) => nicSetup(nic)).join('\n')}
mkdir -p /run/rtprobe
for word in $(cat /proc/cmdline); do
  case "$word" in ${GUEST_TOKEN_PARAM}=*) echo "\${word#${GUEST_TOKEN_PARAM}=}" > /run/rtprobe/token ;; esac
done
chmod 0400 /run/rtprobe/token
# loads of 'compare --load KIND@guest' (guest-exec.ts): the token guards it
(while true; do
  ${GUEST_BUNDLE_DIR}/rtprobe lab guest-execd --listen 0.0.0.0:${GUEST_EXEC_PORT} --token-file /run/rtprobe/token </dev/null
  sleep 1
done) &
while true; do
  ${agent} </dev/null
  echo "rtprobe-guest: agent ended ($?), restarting in 1 s"
  sleep 1
done
`;
}

function nicSetup(nic: GuestNic): string {
  return `for dev in /sys/class/net/*; do
  if [ "$(cat "$dev/address")" = "${nic.mac}" ]; then
    ip addr add ${nic.guestAddress}/${nic.prefixLength} dev "\${dev##*/}" && ip link set "\${dev##*/}" up
    echo "rtprobe-guest: ${nic.model} is \${dev##*/} ${nic.guestAddress}"
  fi
done`;
}
