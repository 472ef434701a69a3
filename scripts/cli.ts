import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { start } from "../topology/lab.ts";
import { loadLab } from "../topology/model/load.ts";
import { LabFileError } from "../topology/model/problems.ts";
import { labReport } from "../topology/report/text.ts";
import { mermaid } from "../topology/report/mermaid.ts";
import { gc } from "../topology/run/gc.ts";
import { isAlive } from "../topology/run/process.ts";
import { PreflightError } from "../topology/run/preflight.ts";
import { inspectRun, listRunIds, readState, RUN_ID } from "../topology/run/state.ts";
import { stopRun } from "../topology/backends/lifecycle.ts";
import { backendNamed, UnknownBackendError } from "../topology/backends/registry.ts";
import { BackendRefusal, resolveBackend } from "../topology/lab.ts";
import type { Backend } from "../topology/backends/backend.ts";
import { InventoryError } from "../topology/backends/ssh/inventory.ts";
import { SshBackend } from "../topology/backends/ssh/backend.ts";
import { labYaml, readHost } from "../topology/import/from-hosts.ts";
import { NAME, NAME_HINT } from "../topology/model/names.ts";
import { stepCommand } from "../topology/model/types.ts";
import { runLab } from "../topology/scenario.ts";
import { printable } from "../topology/report/printable.ts";

/** Everything the CLI prints may quote a lab file: it goes out through printable(). */
const out = (text: string) => process.stdout.write(printable(text) + "\n");
const err = (text: string) => process.stderr.write(printable(text) + "\n");
const write = (text: string) => process.stdout.write(printable(text));

const USAGE = `labwright — emulated cloud-networking labs on one Linux machine

Usage:
  labwright run <lab.yaml> [--scenario NAME]... [--json FILE] [--quiet] [--backend netns|containers]
                    [--backend ssh --inventory hosts.yaml [--apply]]
                                    build each scenario from scratch, run its steps, judge its
                                    expectations, tear down; print a report, write JSON results
  labwright up <lab.yaml> [--backend netns|containers]
                                    build the lab and leave it up; prints the run id
  labwright down <run>              tear a run down (processes, namespaces, files)
  labwright status [--json]         list runs on this machine
  labwright exec <run> <node> [-- cmd...]
                                    run a command in a node (no command: an interactive shell)
  labwright gc                      remove what dead runs left behind (and nothing else)
  labwright import --inventory hosts.yaml [--name NAME] [-o lab.yaml]
                                    write a lab file from the real hosts (interfaces, addresses,
                                    routes, forwarding, OVS bridges; LANs from shared subnets)
  labwright graph <lab.yaml>        print the topology as a Mermaid flowchart
  labwright validate <lab.yaml>     check a lab file without touching the machine

Backends: netns (default: every node a network namespace), containers (every node a Docker
container of an image built here from Debian packages), or ssh (every node a real host of the
inventory; read-only: only expectations run, steps need --apply); --backend or LABWRIGHT_BACKEND.

Exit codes: 0 all expectations hold, 1 an expectation failed, 2 invalid input (lab file or
arguments; nothing was created), 3 the machine is not ready (not root, a tool is missing).`;

class UsageError extends Error {}

function need<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new UsageError(`missing ${what}\n\n${USAGE}`);
  return v;
}

function progress(quiet: boolean) {
  return (e: { t: number; message: string; scenario?: string }) => {
    if (!quiet) write(`  · [${e.scenario ? e.scenario + " " : ""}${e.t.toFixed(2)}s] ${e.message}\n`);
  };
}

function onInterrupt(ctrl: AbortController): void {
  const handler = (sig: NodeJS.Signals) => {
    if (ctrl.signal.aborted) return;
    process.stderr.write(`\n${sig}: stopping and removing what was built...\n`);
    ctrl.abort(new Error(`interrupted by ${sig}`));
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
}

/** `--backend NAME`, else $LABWRIGHT_BACKEND, else network namespaces. */
function chooseBackend(name: string | undefined, inventory?: string): Backend {
  try {
    if (inventory !== undefined && name === undefined) name = "ssh";
    if (name === "ssh") return backendNamed("ssh", { inventory });
    if (inventory !== undefined) throw new UsageError("--inventory goes with --backend ssh");
    return resolveBackend(name);
  } catch (e) {
    if (e instanceof UnknownBackendError || e instanceof InventoryError) throw new UsageError(e.message);
    throw e;
  }
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case "run": {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          scenario: { type: "string", multiple: true },
          json: { type: "string" },
          quiet: { type: "boolean", default: false },
          backend: { type: "string" },
          inventory: { type: "string" },
          apply: { type: "boolean", default: false },
        },
      });
      const lab = loadLab(need(positionals[0], "the lab file"));
      const backend = chooseBackend(values.backend, values.inventory);
      if (values.apply && backend.builds) throw new UsageError(`--apply is for real hosts (--backend ssh): the ${backend.name} backend always runs the steps`);
      if (values.apply) {
        // Said before anything runs: CI logs show what was applied to the real hosts.
        out(`labwright: --apply: these steps will run on the real hosts, in order:`);
        for (const sc of lab.scenarios.filter((x) => !values.scenario?.length || values.scenario.includes(x.name))) {
          for (const st of sc.steps) if (st.kind !== "check") out(`  [${sc.name}] ${st.on}$ ${stepCommand(st)}`);
        }
      }
      const unknown = (values.scenario ?? []).filter((s) => !lab.scenarios.some((x) => x.name === s));
      if (unknown.length) throw new UsageError(`no scenario ${unknown.join(", ")} in ${lab.file} (scenarios: ${lab.scenarios.map((s) => s.name).join(", ")})`);
      const ctrl = new AbortController();
      onInterrupt(ctrl);
      out(`labwright: running ${lab.name} — ${lab.scenarios.length} scenario(s), each from a fresh start (${backend.name} backend)`);
      const forensicsDir = resolve(values.json ? dirname(values.json) : "results", "forensics");
      const result = await runLab(lab, { only: values.scenario, signal: ctrl.signal, onEvent: progress(values.quiet), forensicsDir, backend, apply: values.apply });
      const json = resolve(values.json ?? join("results", `${lab.name}-${result.startedAt.replace(/[:.]/g, "-")}.json`));
      mkdirSync(dirname(json), { recursive: true, mode: 0o700 });
      // Results quote command output and lab text: readable by root only.
      writeFileSync(json, JSON.stringify(result, null, 2), { mode: 0o600 });
      chmodSync(json, 0o600);
      out("\n" + labReport(result, json));
      if (ctrl.signal.aborted) return 130;
      return result.ok ? 0 : 1;
    }
    case "up": {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { backend: { type: "string" } } });
      const lab = loadLab(need(positionals[0], "the lab file"));
      const backend = chooseBackend(values.backend);
      const ctrl = new AbortController();
      onInterrupt(ctrl);
      let s;
      try {
        s = await start(lab, { persistent: true, signal: ctrl.signal, onEvent: progress(false), backend });
      } catch (e) {
        // Interrupted: start() has unwound what it built; say so and exit as `run` does.
        if (ctrl.signal.aborted) {
          err(`labwright up: ${(e as Error).message}; nothing was left behind`);
          return 130;
        }
        throw e;
      }
      out(`\nrun ${s.runId} is up. Nodes: ${lab.nodes.map((n) => n.name).join(", ")}`);
      out(`  shell:     labwright exec ${s.runId} ${lab.nodes[0]?.name ?? "<node>"}`);
      out(`  tear down: labwright down ${s.runId}`);
      return 0;
    }
    case "down": {
      const id = need(rest[0], "the run id (see `labwright status`)");
      if (!RUN_ID.test(id) || !listRunIds().includes(id)) throw new UsageError(`no run "${id}" on this machine (see \`labwright status\`)`);
      // A damaged state file does not stop `down`: the run's objects are found by its id.
      const r = await stopRun(id, readState(id));
      out(`run ${id} removed: ${r.processes} processes, ${r.namespaces} namespaces, ${r.paths} paths in ${r.durationMs.toFixed(0)} ms`);
      return 0;
    }
    case "status": {
      const { values } = parseArgs({ args: rest, options: { json: { type: "boolean", default: false } } });
      const infos = listRunIds().map(inspectRun);
      const runs = infos.flatMap((i) => (i.ok ? [{ ...i.state, ownerAlive: isAlive(i.state.owner) }] : []));
      const damaged = infos.flatMap((i) => (i.ok ? [] : [{ id: i.id, damaged: i.why, ownerAlive: i.owner ? isAlive(i.owner) : null }]));
      if (values.json) out(JSON.stringify([...runs, ...damaged], null, 2));
      else if (!infos.length) out("no labwright runs on this machine");
      else {
        for (const r of runs) {
          const how = r.persistent ? "up (labwright up)" : r.ownerAlive ? `owned by pid ${r.owner.pid}` : "owner gone: `labwright gc` removes it";
          out(`${r.id}  ${r.lab.padEnd(18)} ${r.phase.padEnd(9)} ${how}`);
          out(`        nodes: ${Object.keys(r.nodes).join(", ")}   (${r.file})`);
        }
        for (const d of damaged) out(`${d.id}  (damaged: ${d.damaged}; ${d.ownerAlive ? "its owner is alive" : "`labwright gc` removes it once its owner is gone"})`);
      }
      return 0;
    }
    case "exec": {
      const [id, node, ...after] = rest;
      const state = readState(need(id, "the run id"));
      if (!state) throw new UsageError(`no run "${id}" on this machine (see \`labwright status\`)`);
      if (!state.nodes[need(node, "the node name")]) throw new UsageError(`run ${id} has no node "${node}" (nodes: ${Object.keys(state.nodes).join(", ")})`);
      const cmdline = after[0] === "--" ? after.slice(1) : after;
      const argv = cmdline.length ? cmdline : ["bash", "--norc", "-i"];
      const host = backendNamed(state.backend).attach(state, node!);
      return host.interactive(argv, { PS1: `[${state.lab}:${node}] \\w# `, LABWRIGHT_RUN: state.id, LABWRIGHT_NODE: node! });
    }
    case "gc": {
      const r = await gc(stopRun);
      for (const d of r.damaged) out(`run ${d.id}: ${d.why}`);
      for (const t of r.removed) out(`removed run ${t.runId}: ${t.processes} processes, ${t.namespaces} namespaces, ${t.paths} paths${t.note ? ` (found by its id: ${t.note})` : ""}`);
      if (!r.removed.length) out("nothing to remove");
      if (r.kept.length) out(`kept live runs: ${r.kept.join(", ")}`);
      if (r.unclaimed.length) out(`namespaces named like labwright's but claimed by no run (left alone): ${r.unclaimed.join(", ")}`);
      return 0;
    }
    case "import": {
      const { values } = parseArgs({ args: rest, options: { inventory: { type: "string" }, name: { type: "string", default: "imported" }, output: { type: "string", short: "o" } } });
      if (!NAME.test(values.name)) throw new UsageError(`--name ${values.name}: ${NAME_HINT}`);
      const backend = chooseBackend("ssh", need(values.inventory, "--inventory hosts.yaml"));
      if (!(backend instanceof SshBackend)) throw new UsageError("import reads real hosts: --inventory hosts.yaml");
      try {
        const facts = await Promise.all([...backend.inventory.hosts.keys()].map((h) => readHost(backend.hostOf(h))));
        const { text, notes } = labYaml(values.name, facts, backend.inventory.file);
        if (values.output) {
          writeFileSync(values.output, text);
          out(`wrote ${values.output}: ${facts.length} nodes${notes.length ? ` (${notes.length} notes in its header)` : ""}`);
        } else write(text);
      } finally {
        await backend.close();
      }
      return 0;
    }
    case "graph": {
      write(mermaid(loadLab(need(rest[0], "the lab file"))));
      return 0;
    }
    case "validate": {
      const lab = loadLab(need(rest[0], "the lab file"));
      out(`${rest[0]}: valid — ${lab.nodes.length} nodes, ${lab.lans.length} LANs, scenarios: ${lab.scenarios.map((s) => s.name).join(", ")}`);
      return 0;
    }
    case undefined:
    case "help":
    case "--help":
    case "-h":
      out(USAGE);
      return cmd === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command "${cmd}"\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof LabFileError || e instanceof UsageError || e instanceof BackendRefusal) {
      err((e as Error).message);
      process.exit(2);
    }
    if (e instanceof PreflightError) {
      err(`labwright: ${e.message}`);
      process.exit(3);
    }
    err(`labwright: ${(e as Error).stack ?? e}`);
    process.exit(1);
  },
);
