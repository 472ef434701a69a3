import { readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { start } from "../../topology/lab.ts";
import { loadLab } from "../../topology/model/load.ts";
import { readState } from "../../topology/run/state.ts";
import { CLI } from "../support/cli.ts";
import { expectGcRemoves } from "../support/gc.ts";
import { BACKEND } from "../support/fixture.ts";
import { writeLab } from "../support/labs.ts";
import { runIds } from "../support/machine.ts";

/**
 * The real neutron's processes, namespaces and files across a run's life, on a one-node cloud:
 * MariaDB, RabbitMQ, neutron-server with its workers, the three agents with their privsep helpers,
 * and the DHCP agent's dnsmasq and haproxy in a qdhcp- namespace. Nothing of it may survive a
 * SIGKILL of labwright followed by `gc`; a neutron daemon that cannot start fails the deploy with
 * its own log and is ended.
 */
const lab = (extra: string) => `name: tiny-kolla
lans:
  mgmt: { cidr: 10.97.0.0/24 }
  ext: { cidr: 10.96.0.0/24 }
nodes:
  inet:
    interfaces: { eth0: { lan: mgmt, address: 10.97.0.1 } }
    services: [ { type: registry, port: 80 } ]
    dns: { records: { quay.io: 10.97.0.1 } }
  os:
    interfaces: { eth1: { lan: mgmt, address: 10.97.0.2 }, eth4: { lan: ext } }
    resolver: 10.97.0.1
    software: [kolla]
${extra}`;

const GLOBALS = `{ network_interface: eth1, neutron_external_interface: eth4, enable_haproxy: "no", kolla_base_distro: ubuntu }`;

const BROKEN = lab(`scenarios:
  - name: broken
    steps:
      - on: os
        kolla: deploy
        globals: ${GLOBALS}
        config: { neutron/ml2_conf.ini: "[ml2]\\nmechanism_drivers = nonexistent\\n" }
        should: fail
        output: "neutron-server exited during start"
`);

const HELD = lab(`scenarios:
  - name: held
    steps:
      - { on: os, kolla: deploy, globals: ${GLOBALS} }
      - { on: os, openstack: network create n1 }
      - { on: os, openstack: subnet create s1 --network n1 --subnet-range 10.95.0.0/24 }
      - { name: hold the lab here, on: os, run: sleep 600, timeout: 700 }
`);

/** Every process in the pid namespace whose init is the child of `keeper` (the enclave's processes). */
function enclaveProcesses(keeper: number): number[] {
  let init: string | undefined;
  try {
    init = readFileSync(`/proc/${keeper}/task/${keeper}/children`, "utf8").trim().split(/\s+/)[0];
  } catch {
    return [];
  }
  if (!init) return [];
  const pidns = readlinkSync(`/proc/${init}/ns/pid`);
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readlinkSync(`/proc/${d}/ns/pid`) === pidns;
      } catch {
        return false;
      }
    })
    .map(Number);
}

const comm = (p: number) => {
  try {
    return readFileSync(`/proc/${p}/comm`, "utf8").trim();
  } catch {
    return "";
  }
};

/** Processes whose network namespace is the named one and whose command name starts with `name`. */
function processesIn(ns: string, name: string): number[] {
  const ino = `net:[${statSync(`/run/netns/${ns}`).ino}]`;
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readlinkSync(`/proc/${d}/ns/net`) === ino && comm(Number(d)).startsWith(name);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe(`[${BACKEND}] the real neutron leaves nothing behind`, () => {
  it(
    "a neutron-server that cannot start fails the deploy with its own log; the neutron play's daemons are ended, the database and the bus stay as kolla leaves them",
    { timeout: 240_000 },
    async () => {
      const l = loadLab(writeLab("tiny-kolla.yaml", BROKEN));
      const s = await start(l, { backend: BACKEND });
      try {
        const step = l.scenarios[0]!.steps[0]!;
        if (step.kind === "check") throw new Error("unexpected");
        const r = await s.runStep(step);
        expect(r.asExpected, r.reason).toBe(true);
        expect(r.result.stdout).toContain("TASK [neutron : Running Neutron bootstrap container]");
        expect(r.result.stdout).toContain("neutron-server.log:");
        expect(r.result.stdout).toMatch(/nonexistent/); // neutron-server's own words about the driver it could not load
        const ns = s.host("os").netns!;
        expect(processesIn(ns, "neutron-server")).toEqual([]);
        expect(processesIn(ns, "mariadbd").length).toBe(1);
        expect((await s.sh("os", "ss -Htln sport = :9696")).stdout.trim()).toBe("");
        const v = await s.logs();
        expect(v.errors.some((f) => f.file.endsWith("neutron-server.log") && /CRITICAL|ERROR/.test(f.line))).toBe(true);
      } finally {
        await s.stop();
      }
    },
  );

  it(
    "SIGKILL of labwright with neutron up (server, agents, RabbitMQ, MariaDB, a qdhcp namespace with dnsmasq and haproxy): `labwright gc` removes every process, namespace, mount and file",
    { timeout: 300_000 },
    async () => {
      const file = writeLab("tiny-kolla.yaml", HELD);
      const before = new Set(runIds());
      const child = execa(process.execPath, [CLI, "run", file, "--quiet", ...(BACKEND === "netns" ? [] : ["--backend", BACKEND])], {
        reject: false,
      });
      let id: string | undefined;
      let tree: number[] = [];
      let state: ReturnType<typeof readState> = null;
      const deadline = Date.now() + 240_000;
      try {
        for (;;) {
          id = runIds().find((r) => !before.has(r));
          const keeper = id ? readState(id)?.processes.find((p) => p.name === "openstack-enclave") : undefined;
          tree = keeper ? enclaveProcesses(keeper.pid) : [];
          if (tree.map(comm).includes("dnsmasq") && tree.map(comm).includes("haproxy")) break;
          if (Date.now() > deadline || child.exitCode !== null) throw new Error(`neutron never came up: ${(await child).stdout}`);
          await new Promise((r) => setTimeout(r, 250));
        }
        const names = new Set(tree.map(comm));
        for (const n of ["mariadbd", "beam.smp", "dnsmasq", "haproxy"]) expect(names, n).toContain(n);
        expect([...names].some((n) => n.startsWith("neutron-"))).toBe(true);
        state = readState(id!);
      } finally {
        // Whatever happened above, the run is killed here (a failed assertion must not leave it running).
        child.kill("SIGKILL");
        await child;
      }

      await expectGcRemoves(id!, [...state!.processes.map((x) => x.pid), ...tree]);
    },
  );
});
