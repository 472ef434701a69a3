import type { Host } from "./host.ts";

/**
 * A node's machine view (its network namespace with this machine's files and tools), resolving
 * names as the node does: a container node's view would otherwise read this machine's resolv.conf
 * and hosts, whose servers and names the lab does not have. Daemons that run beside a container
 * (incusd, neutron) are started through it. A namespace node is its own view.
 */
export async function resolvingView(node: Host): Promise<Host> {
  const view = node.machineView?.() ?? node;
  if (view !== node) for (const f of ["/etc/resolv.conf", "/etc/hosts"]) await view.writeFile(f, (await node.readFile(f)) ?? "");
  return view;
}
