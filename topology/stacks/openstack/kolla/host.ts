import { join } from "node:path";
import type { KollaHost } from "./node.ts";
import type { Lab, NodeSpec } from "../../../model/types.ts";
import type { RunRecord } from "../../../run/state.ts";
import {
  centralDaemons,
  centralInits,
  createDatabases,
  northd,
  type OvsDaemon,
  ovnController,
  ovsDir,
  sbRelay,
  startStack,
} from "../../ovs/daemons.ts";
import type { OvnCentralSettings } from "../../../model/commands/ovn-ctl.ts";
import { waitFor } from "../../../wait/wait.ts";
import { mustIn } from "../../../backends/must.ts";
import { isAlive } from "../../../run/process.ts";
import type { Daemon, Enclave, Host } from "../../../backends/host.ts";
import { resolvingView } from "../../../backends/machine-view.ts";

/** The started lab's guests (namespaces of servers, routers, DHCP) as the kolla node uses them. */
interface GuestOps {
  create(name: string, of: string): Promise<Host>;
  addPort(of: Host, guest: Host, hostIf: string, guestIf: string, mac: string, mtu: number): Promise<void>;
  get(name: string): Host;
  remove(name: string): Promise<void>;
}

/** What the kolla node gets from the started lab: the adapters below, nothing else. */
interface LabParts {
  readonly lab: Lab;
  readonly record: RunRecord;
  readonly guests: GuestOps;
  host(name: string): Host;
  reconcile(node: string): Promise<string[]>;
}

export function emulatorHosts(l: LabParts) {
  return {
    kolla(n: NodeSpec): KollaHost {
      const node = l.host(n.name);
      const view = node.machineView?.() ?? node;
      const record = (d: Daemon, opts: { hard?: boolean; on?: string } = {}) =>
        l.record.update((s) => s.processes.push({ ...d.ref, name: d.name, node: opts.on ?? n.name, ...(opts.hard ? { hard: true } : {}) }));
      let enclave: Promise<Enclave> | null = null;
      // The OVN daemons kolla's ovn containers run, by container name, for `restart:` steps.
      const ovn = new Map<string, { daemon: Daemon; spec: OvsDaemon }>();
      const startOvn = async (d: OvsDaemon, container: string) => {
        const daemon = view.spawn(d.name, d.argv, { log: join(ovsDir(node), `${d.name}.out`) });
        record(daemon);
        ovn.set(container, { daemon, spec: d });
        await waitFor(view, daemon, d.ready, 15_000);
      };
      return {
        node: n.name,
        host: node,
        view,
        // kolla's openvswitch containers share the host's network and pids: here the daemons run in
        // the node's machine view (a container node's own /proc hides /proc/self from nsenter'd
        // processes, and ovs-vswitchd reads /proc/net/route). kolla's start-ovsdb-server also listens
        // on ptcp:6640:127.0.0.1 (the agents' ovsdb_connection).
        startOvs: () =>
          startStack({ ...n, software: ["openvswitch"] }, view, ovsDir(node), (d) => record(d), { ovsdbRemotes: ["ptcp:6640:127.0.0.1"] }),
        startOvnCentral: async ({ api, relay }) => {
          const dir = ovsDir(node);
          const up = (d: OvsDaemon) => startOvn(d, d.name === "ovn-northd" ? "ovn-northd" : d.name.replace(/^ovn(nb|sb)_db$/, "ovn-$1-db"));
          // ovn-ctl run_nb_ovsdb/run_sb_ovsdb as kolla's ovn-db containers call it: --db-xx-cluster-local-addr
          // makes each database a raft cluster of one member; no insecure remote (set-connection adds it).
          const db = (port: number, raft: number) => ({
            addr: api,
            port,
            insecureRemote: false,
            remoteInDb: true,
            clusterLocal: { addr: api, port: raft },
          });
          const settings: OvnCentralSettings = {
            nb: db(6641, 6643),
            sb: db(6642, 6644),
            northdNb: `tcp:${api}:6641`,
            northdSb: `tcp:${api}:6642`,
            options: [],
          };
          await createDatabases({ ...n, software: ["ovn-central"], ovnCentral: settings }, dir, view);
          await Promise.all(centralDaemons(dir, settings).map(up));
          for (const argv of centralInits(dir, settings)) await mustIn(view, argv, `OVN databases of ${n.name}`);
          // bootstrap-db.yml, on the leader: "Configure OVN NB/SB connection settings".
          for (const [ctl, sock, port] of [
            ["ovn-nbctl", "ovnnb_db", 6641],
            ["ovn-sbctl", "ovnsb_db", 6642],
          ] as const)
            await mustIn(
              view,
              [ctl, `--db=unix:${join(dir, `${sock}.sock`)}`, "--inactivity-probe=60000", "set-connection", `ptcp:${port}:0.0.0.0`],
              `OVN database listeners of ${n.name}`,
            );
          if (relay) await up(sbRelay(dir, "ovn-sb-db-relay", `ptcp:16641:${api}`, `tcp:${api}:6642`));
          await up(northd(dir, settings));
        },
        startOvnController: () => startOvn(ovnController(ovsDir(node)), "ovn-controller"),
        restartOvn: async (container, graceMs) => {
          const r = ovn.get(container);
          if (!r || !isAlive(r.daemon.ref)) throw new Error(`${container} is not running on ${n.name}`);
          // `docker stop -t <grace>`: SIGTERM to the container's process (dumb-init passes it on), SIGKILL after the grace.
          const t0 = performance.now();
          view.signal(r.daemon, "SIGTERM");
          const deadline = Date.now() + graceMs;
          while (isAlive(r.daemon.ref) && Date.now() < deadline) await new Promise((x) => setTimeout(x, 20));
          if (isAlive(r.daemon.ref)) view.signal(r.daemon, "SIGKILL");
          while (isAlive(r.daemon.ref)) await new Promise((x) => setTimeout(x, 20));
          const stoppedMs = performance.now() - t0;
          await startOvn(r.spec, container);
          return { stoppedMs, readyMs: performance.now() - t0 - stoppedMs };
        },
        reconcile: () => l.reconcile(n.name),
        enclave: () => {
          if (!view.enclave) throw new Error(`${n.name}: the ${node.backend} backend has no enclaves (neutron needs one)`);
          // The kolla node's host for OpenStack's daemons: its own /run/netns and /tmp, hostname the
          // node's name, names resolved as in the node.
          enclave ??= resolvingView(node).then((v) =>
            v.enclave!(
              {
                name: "openstack-enclave",
                hostname: n.name,
                tmpfs: ["/run/netns", "/tmp"],
                log: join(node.stateDir, "openstack-enclave.log"),
              },
              (k) => record(k, { hard: true }),
            ),
          );
          return enclave;
        },
        record: (d) => record(d),
        createGuest: (name) => l.guests.create(name, n.name),
        addPort: (guest, hostIf, guestIf, mac, mtu) => l.guests.addPort(node, l.guests.get(guest), hostIf, guestIf, mac, mtu),
        removeGuest: (name) => l.guests.remove(name),
        spawnIn: (guest, name, argv) => {
          const g = l.guests.get(guest);
          const d = g.spawn(name, argv, { log: join(g.stateDir, `${name}.log`) });
          record(d, { on: guest });
          return d;
        },
      };
    },
  };
}
