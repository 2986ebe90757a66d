/**
 * Which kernel modules a guest NIC needs, in load order, from the kernel's own modules.dep
 * (`kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko …`). A line lists
 * every module its module needs, in no order insmod can follow, so the order is computed
 * here. Pure: the text in, paths out.
 */

/** module name (`virtio_net`, `8139too`) → its path and direct dependencies' paths */
export type ModuleDeps = Map<string, { path: string; deps: string[] }>;

/** The name the kernel and insmod use: the file name without .ko and compression suffixes, '-' as '_'. */
export function moduleName(path: string): string {
  const file = path.slice(path.lastIndexOf('/') + 1);
  return file.replace(/\.ko(\.(xz|zst|gz))?$/, '').replace(/-/g, '_');
}

export function parseModulesDep(text: string): ModuleDeps {
  const deps: ModuleDeps = new Map();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const path = line.slice(0, colon).trim();
    deps.set(moduleName(path), { path, deps: line.slice(colon + 1).trim().split(/\s+/).filter((d) => d !== '') });
  }
  return deps;
}

/** Paths of `wanted` and everything they need, each once, every dependency before its user. */
export function modulesInLoadOrder(deps: ModuleDeps, wanted: readonly string[]): string[] | Error {
  const order: string[] = [];
  const done = new Set<string>();
  const visiting = new Set<string>();
  const visit = (name: string, chain: string[]): Error | null => {
    if (done.has(name)) return null;
    const entry = deps.get(name);
    if (!entry) return new Error(`kernel module ${name} not in modules.dep${chain.length ? ` (needed by ${chain.join(' ← ')})` : ''}`);
    if (visiting.has(name)) return new Error(`modules.dep has a cycle through ${name}`);
    visiting.add(name);
    for (const dep of entry.deps) {
      const error = visit(moduleName(dep), [name, ...chain]);
      if (error) return error;
    }
    visiting.delete(name);
    done.add(name);
    order.push(entry.path);
    return null;
  };
  for (const name of wanted) {
    const error = visit(name, []);
    if (error) return error;
  }
  return order;
}
