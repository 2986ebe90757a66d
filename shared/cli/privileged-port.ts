/**
 * What to do about EACCES on a port below 1024 (net.ipv4.ip_unprivileged_port_start): said
 * where the error is printed, since "permission denied" alone does not name the capability.
 */
export function privilegedPortHint(code: string | undefined, port: number): string {
  if (code !== 'EACCES' || port <= 0 || port >= 1024) return '';
  return `; ports below 1024 need root or CAP_NET_BIND_SERVICE (e.g. setcap cap_net_bind_service=+ep on the node binary, ` +
    'or AmbientCapabilities=CAP_NET_BIND_SERVICE in the systemd unit), or use a port from 1024 up';
}
