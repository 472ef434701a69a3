import type { KollaHost } from "../emulators/openstack/node.ts";
import type { Lab, NodeSpec } from "../model/types.ts";
import type { RunRecord } from "../run/state.ts";
import { ovsDir, startStack } from "../stacks/ovs.ts";
import type { Host } from "../backends/host.ts";
import type { Guests } from "./guests.ts";

/** What the emulators get from the started lab: the adapters below, nothing else. */
interface LabParts {
  readonly lab: Lab;
  readonly record: RunRecord;
  readonly guests: Guests;
  host(name: string): Host;
  reconcile(node: string): Promise<string[]>;
}

export function emulatorHosts(l: LabParts) {
  const exec = (node: string, argv: string[], timeoutS?: number) => l.host(node).exec(argv, { timeoutS: timeoutS ?? 30 });
  return {
    kolla(n: NodeSpec): KollaHost {
      const node = l.host(n.name);
      return {
        node: n.name,
        dir: node.stateDir,
        exec,
        createGuest: async (name) => {
          await l.guests.create(name, n.name);
        },
        addPort: (guest, hostIf, guestIf, mac, mtu) => l.guests.addPort(node, l.guests.get(guest), hostIf, guestIf, mac, mtu),
        spawnUdp: async (guest, name, argv, port) => {
          const d = await l.guests.spawnUdp(guest, name, argv, port, node.stateDir);
          return (sig: NodeJS.Signals) => l.guests.get(guest).signal(d, sig);
        },
        startOvs: () =>
          startStack({ ...n, software: ["openvswitch"] }, node, ovsDir(node), (d) => l.record.update((s) => s.processes.push({ ...d.ref, name: d.name, node: n.name }))),
        reconcile: () => l.reconcile(n.name),
        writeFile: (where, path, text) => l.host(where).writeFile(path, text),
      };
    },
  };
}
