import { appendFileSync, chmodSync, closeSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { Command, CommanderError, Option } from "commander";
import type { Backend } from "../topology/backends/backend.ts";
import type { Lab } from "../topology/model/types.ts";
import { NAME, NAME_HINT } from "../topology/model/names.ts";
import { LabFileError } from "../topology/model/problems.ts";
import { stepCommand } from "../topology/model/types.ts";
import { annotations, markdownSummary } from "../topology/report/github.ts";
import { writePictures } from "../topology/report/charts/pictures.ts";
import { mermaid } from "../topology/report/mermaid.ts";
import { printable } from "../topology/report/printable.ts";
import { summarizeRuns } from "../topology/repeat/summary.ts";
import { timingsReport } from "../topology/report/timings.ts";
import { chromeTrace } from "../topology/trace/chrome.ts";
import { MergeError, mergeShards, parseShard, type Shard, shardOf } from "../topology/shard/shard.ts";
import { PreflightError } from "../topology/run/preflight.ts";
import type { RunState } from "../topology/run/state.ts";
import type { LabResult } from "../topology/results.ts";
import { ConvergenceError } from "../topology/wait/convergence.ts";
import { ToolchainError } from "../topology/toolchain/error.ts";
import { toolchainCommand } from "./cli-toolchain.ts";

// The heavier modules (the lab file's parser, the backends and their daemons' code, the run
// machinery, the text and JUnit reports) are loaded by the commands that use them: `--help`,
// `--version` and a usage error start in about 0.15 s instead of 1 s, `validate` in about 0.5 s.
const lazy = {
  load: () => import("../topology/model/load.ts"),
  lab: () => import("../topology/lab.ts"),
  scenario: () => import("../topology/scenario.ts"),
  registry: () => import("../topology/backends/registry.ts"),
  lifecycle: () => import("../topology/backends/lifecycle.ts"),
  state: () => import("../topology/run/state.ts"),
  process: () => import("../topology/run/process.ts"),
  gc: () => import("../topology/run/gc.ts"),
  ssh: () => import("../topology/backends/ssh/backend.ts"),
  inventory: () => import("../topology/backends/ssh/inventory.ts"),
  fromHosts: () => import("../topology/import/from-hosts.ts"),
  text: () => import("../topology/report/text.ts"),
  junit: () => import("../topology/report/junit.ts"),
  repeat: () => import("../topology/report/repeat.ts"),
};
/** lab.ts once a command loaded it: only then can an error be its BackendRefusal. */
let labModule: Awaited<ReturnType<typeof lazy.lab>> | undefined;
async function labApi() {
  labModule ??= await lazy.lab();
  return labModule;
}

/**
 * The labwright command line, on commander (kept, small, typed; it gives every command its --help,
 * --version and usage errors). Exit codes: 0 every expectation holds, 1 one does not, 2 invalid
 * input (nothing created), 3 the machine is not ready, 130 interrupted.
 */

/** Everything the CLI prints may quote a lab file: it goes out through printable(). */
const out = (text: string) => process.stdout.write(printable(text) + "\n");
const err = (text: string) => process.stderr.write(printable(text) + "\n");
const write = (text: string) => process.stdout.write(printable(text));

class UsageError extends Error {}

/** The package's version: its package.json is one folder up from scripts/cli.ts, two from the built dist/scripts/cli.js. */
const VERSION = (() => {
  for (const up of ["../package.json", "../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), "utf8")) as { name?: string; version: string };
      if (pkg.name === "labwright") return pkg.version;
    } catch {
      // not this folder
    }
  }
  throw new Error("labwright: its package.json was not found");
})();

/** Progress lines: on a terminal one live line that is rewritten; elsewhere (CI, pipes) plain lines. */
function progress(quiet: boolean) {
  const live = process.stdout.isTTY && !process.env.CI;
  let shown = false;
  const report = (e: { t: number; message: string; scenario?: string }) => {
    if (quiet) return;
    const line = printable(`  · [${e.scenario ? e.scenario + " " : ""}${e.t.toFixed(2)}s] ${e.message}`);
    if (live) {
      process.stdout.write(`\r\x1b[2K${line.slice(0, Math.max(20, (process.stdout.columns ?? 100) - 1))}`);
      shown = true;
    } else process.stdout.write(line + "\n");
  };
  report.done = () => {
    if (shown) process.stdout.write("\r\x1b[2K");
  };
  return report;
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

/** `--backend NAME` (with `--inventory` for ssh), else $LABWRIGHT_BACKEND, else network namespaces. */
async function chooseBackend(name: string | undefined, inventory?: string): Promise<Backend> {
  const [{ backendNamed, UnknownBackendError }, { InventoryError }, { resolveBackend }] = await Promise.all([
    lazy.registry(),
    lazy.inventory(),
    labApi(),
  ]);
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

/** A run named by its id, or by its lab's name when exactly one run of that lab is on this machine. */
async function resolveRun(ref: string): Promise<string> {
  const { listRunIds, readState, RUN_ID } = await lazy.state();
  const ids = listRunIds();
  if (RUN_ID.test(ref) && ids.includes(ref)) return ref;
  const ofLab = ids.filter((id) => readState(id)?.lab === ref);
  if (ofLab.length === 1) return ofLab[0]!;
  if (ofLab.length > 1)
    throw new UsageError(`${ofLab.length} runs of lab ${ref} are on this machine (${ofLab.join(", ")}): name one by its id`);
  throw new UsageError(`no run "${ref}" on this machine (a run id or a lab name; see \`labwright status\`)`);
}

/** Writes results files: readable by root only (they quote command output and lab text). */
function writePrivate(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, text, { mode: 0o600 });
  chmodSync(file, 0o600);
}

/** JUnit, the GitHub step summary and annotations, as asked and as the environment offers. */
async function ciOutputs(result: LabResult, lab: Lab, junit: string | undefined): Promise<void> {
  if (junit) writePrivate(resolve(junit), (await lazy.junit()).junitXml(result));
  if (process.env.GITHUB_STEP_SUMMARY) appendFileSync(process.env.GITHUB_STEP_SUMMARY, markdownSummary(result, lab) + "\n");
  if (process.env.GITHUB_ACTIONS === "true") {
    const file = relative(process.env.GITHUB_WORKSPACE ?? process.cwd(), lab.file);
    for (const a of annotations(result, file)) process.stdout.write(a + "\n");
  }
}

let exitCode = 0;

interface RunOpts {
  scenario?: string[];
  json?: string;
  junit?: string;
  quiet?: boolean;
  backend?: string;
  inventory?: string;
  apply?: boolean;
  keepOnFailure?: boolean;
  strictLogs?: boolean;
  repeat?: number;
  timings?: boolean;
  trace?: string;
  shard?: Shard;
  untilFail?: boolean;
}

/** commander's parser for a whole number ≥ 1 (a usage error otherwise). */
function positiveInt(flag: string) {
  return (v: string): number => {
    if (!/^[1-9]\d{0,3}$/.test(v)) throw new UsageError(`${flag} takes a whole number from 1 to 9999 (got "${v}")`);
    return Number(v);
  };
}

function program(): Command {
  const p = new Command("labwright")
    .description("cloud-networking labs on one Linux machine (namespaces or containers) or against real hosts over SSH")
    .version(VERSION, "-V, --version")
    .enablePositionalOptions()
    .exitOverride()
    .showHelpAfterError()
    .configureOutput({ writeOut: (s) => write(s), writeErr: (s) => process.stderr.write(printable(s)) })
    .addHelpText(
      "after",
      `
Backends: netns (default: every node a network namespace), containers (every node a Docker
container of an image built here from Debian packages), or ssh (every node a real host of the
inventory; read-only: only expectations run, steps need --apply); --backend or LABWRIGHT_BACKEND.

Exit codes: 0 all expectations hold, 1 an expectation failed, 2 invalid input (lab file or
arguments; nothing was created), 3 the machine is not ready (not root, a tool is missing),
130 interrupted (what was built is removed).`,
    );
  const backendOption = () => new Option("--backend <name>", "netns, containers or ssh (default: $LABWRIGHT_BACKEND, else netns)");

  p.command("run")
    .description("build each scenario from scratch, run its steps, judge its expectations, tear down; print a report, write JSON results")
    .argument("<lab>", "the lab file (YAML)")
    .option("--scenario <name...>", "only these scenarios")
    .option("--json <file>", "the JSON results (default results/<lab>-<time>.json)")
    .option("--junit <file>", "JUnit XML: one testcase per step and expectation")
    .option("--quiet", "no progress lines")
    .addOption(backendOption())
    .option("--inventory <file>", "real hosts: the inventory (implies --backend ssh)")
    .option("--apply", "real hosts: run the steps too (they are printed first)")
    .option("--keep-on-failure", "leave a failed scenario's lab up for inspection (exec into it, then down)")
    .option("--strict-logs", "daemon-log warnings fail a scenario too (as the lab file's `logs: strict`)")
    .addOption(
      new Option(
        "--repeat <n>",
        "run the whole lab n times; report each expectation's and step's pass rate and the spread of its values, flag flaky ones",
      ).argParser(positiveInt("--repeat")),
    )
    .option("--until-fail", "with --repeat: stop at the first run that fails (--repeat is then the most runs; default 50)")
    .option("--timings", "print where each scenario's time went: the start's phases, each daemon, step, convergence wait, probe")
    .option("--trace <file>", "write the same as a Chrome trace (open it in Perfetto or chrome://tracing)")
    .addOption(
      new Option(
        "--shard <i/n>",
        "run share i of n of the scenarios (the k-th goes to shard k mod n + 1); `labwright merge` joins the shards",
      ).argParser((v: string) => {
        const sh = parseShard(v);
        if (!sh) throw new UsageError(`--shard takes i/n with 1 ≤ i ≤ n (got "${v}")`);
        return sh;
      }),
    )
    .action(async (file: string, o: RunOpts) => {
      const lab = (await lazy.load()).loadLab(file);
      const backend = await chooseBackend(o.backend, o.inventory);
      const unknown = (o.scenario ?? []).filter((s) => !lab.scenarios.some((x) => x.name === s));
      if (unknown.length)
        throw new UsageError(
          `no scenario ${unknown.join(", ")} in ${lab.file} (scenarios: ${lab.scenarios.map((s) => s.name).join(", ")})`,
        );
      if (o.apply && backend.builds)
        throw new UsageError(`--apply is for real hosts (--backend ssh): the ${backend.name} backend always runs the steps`);
      const repeat = o.repeat ?? (o.untilFail ? 50 : 1);
      if (o.keepOnFailure && repeat > 1 && !o.untilFail)
        throw new UsageError(
          "--keep-on-failure with --repeat would leave a lab up for every failed run: add --until-fail (it stops at the first failed run and keeps that one)",
        );
      if (o.shard && (o.repeat !== undefined || o.untilFail))
        throw new UsageError("--shard does not go with --repeat or --until-fail: repeat the whole lab, or shard it");
      if ((o.repeat !== undefined || o.untilFail) && o.apply)
        throw new UsageError("--repeat and --until-fail do not go with --apply: they would change the real hosts again and again");
      if (o.apply) {
        // Said before anything runs: CI logs show what was applied to the real hosts.
        out("labwright: --apply: these steps will run on the real hosts, in order:");
        for (const sc of lab.scenarios.filter((x) => !o.scenario?.length || o.scenario.includes(x.name))) {
          for (const st of sc.steps) if (st.kind !== "check") out(`  [${sc.name}] ${st.on}$ ${stepCommand(st)}`);
        }
      }
      const ctrl = new AbortController();
      onInterrupt(ctrl);
      if (o.shard) {
        const mine = shardOf(
          lab.scenarios.filter((x) => !o.scenario?.length || o.scenario.includes(x.name)),
          o.shard,
        );
        out(
          `labwright: shard ${o.shard.index}/${o.shard.count}: ${mine.length ? mine.map((x) => x.name).join(", ") : "no scenario (more shards than scenarios)"}`,
        );
      }
      out(
        `labwright: running ${lab.name} — ${lab.scenarios.length} scenario(s), each from a fresh start (${backend.name} backend)${repeat > 1 || o.untilFail ? `, ${o.untilFail ? `until a run fails, at most ${repeat} runs` : `${repeat} times`}` : ""}`,
      );
      const forensicsDir = resolve(o.json ? dirname(o.json) : "results", "forensics");
      const show = progress(o.quiet ?? false);
      const opts = {
        only: o.scenario,
        signal: ctrl.signal,
        onEvent: show,
        forensicsDir,
        backend,
        apply: o.apply,
        keepOnFailure: o.keepOnFailure,
        strictLogs: o.strictLogs,
        timings: Boolean(o.timings || o.trace),
        shard: o.shard,
      };
      const { runLab } = await lazy.scenario();
      const { labReport } = await lazy.text();
      if (repeat === 1 && !o.untilFail) {
        const result = await runLab(lab, opts);
        show.done();
        const json = resolve(o.json ?? join("results", `${lab.name}-${result.startedAt.replace(/[:.]/g, "-")}.json`));
        mkdirSync(dirname(json), { recursive: true, mode: 0o700 });
        await writePictures(result, json.replace(/\.json$/, ""));
        writePrivate(json, JSON.stringify(result, null, 2));
        await ciOutputs(result, lab, o.junit);
        if (o.timings) for (const sc of result.scenarios) out("\n" + timingsReport(sc));
        if (o.trace)
          writePrivate(resolve(o.trace), chromeTrace(result.scenarios.map((sc) => ({ name: sc.name, spans: sc.timeline ?? [] }))));
        out("\n" + labReport(result, json));
        exitCode = ctrl.signal.aborted ? 130 : result.ok ? 0 : 1;
        return;
      }
      // --repeat: every run's own results file, then the summary (JSON, JUnit, step summary, text).
      const results: LabResult[] = [];
      const stamp = new Date().toISOString().replace(/[:.]/g, "-");
      const json = resolve(o.json ?? join("results", `${lab.name}-${stamp}-repeat.json`));
      for (let k = 1; k <= repeat && !ctrl.signal.aborted; k++) {
        const r = await runLab(lab, { ...opts, onEvent: (e) => show({ ...e, scenario: `run ${k}/${repeat} ${e.scenario}` }) });
        show.done();
        results.push(r);
        if (o.timings) for (const sc of r.scenarios) out("\n" + timingsReport(sc));
        mkdirSync(dirname(json), { recursive: true, mode: 0o700 });
        await writePictures(r, json.replace(/\.json$/, `-run${k}`));
        writePrivate(json.replace(/\.json$/, `-run${k}.json`), JSON.stringify(r, null, 2));
        const t = r.totals;
        out(
          `run ${k}/${repeat}: ${r.ok ? "PASS" : "FAIL"} — ${t.passed}/${t.checks} expectations, ${t.stepsAsExpected}/${t.steps} steps${t.logErrors ? `, ${t.logErrors} log error(s)` : ""}${t.logWarnings ? `, ${t.logWarnings} log warning(s)` : ""}`,
        );
        if (!r.ok && o.untilFail) break;
      }
      if (!results.length) {
        exitCode = 130;
        return;
      }
      const summary = summarizeRuns(results, { requested: repeat, untilFail: o.untilFail ?? false });
      const { repeatJunit, repeatMarkdown, repeatReport } = await lazy.repeat();
      writePrivate(
        json,
        JSON.stringify({ ...summary, runFiles: results.map((_, k) => json.replace(/\.json$/, `-run${k + 1}.json`)) }, null, 2),
      );
      if (o.junit) writePrivate(resolve(o.junit), repeatJunit(summary));
      if (o.trace)
        writePrivate(
          resolve(o.trace),
          chromeTrace(results.flatMap((r, k) => r.scenarios.map((sc) => ({ name: `run ${k + 1} ${sc.name}`, spans: sc.timeline ?? [] })))),
        );
      if (process.env.GITHUB_STEP_SUMMARY) appendFileSync(process.env.GITHUB_STEP_SUMMARY, repeatMarkdown(summary) + "\n");
      out("\n" + repeatReport(summary) + `  Details: ${json}`);
      exitCode = ctrl.signal.aborted ? 130 : summary.ok ? 0 : 1;
    });

  p.command("up")
    .description("build the lab and leave it up; prints the run id")
    .argument("<lab>", "the lab file (YAML)")
    .addOption(backendOption())
    .option("--scenario <name>", "then run that scenario's steps (not its expectations)")
    .action(async (file: string, o: { backend?: string; scenario?: string }) => {
      const lab = (await lazy.load()).loadLab(file);
      const sc = o.scenario === undefined ? undefined : lab.scenarios.find((x) => x.name === o.scenario);
      if (o.scenario !== undefined && !sc)
        throw new UsageError(`no scenario ${o.scenario} in ${lab.file} (scenarios: ${lab.scenarios.map((s) => s.name).join(", ")})`);
      const backend = await chooseBackend(o.backend);
      if (!backend.builds) throw new UsageError("up builds a lab: real hosts are already up (use run --backend ssh)");
      const { start } = await labApi();
      const ctrl = new AbortController();
      onInterrupt(ctrl);
      const show = progress(false);
      try {
        const s = await start(lab, { persistent: true, signal: ctrl.signal, onEvent: show, backend });
        show.done();
        for (const st of sc?.steps ?? []) {
          if (st.kind === "check") continue;
          let r;
          try {
            r = await s.runStep(st);
          } catch (e) {
            if (!(e instanceof ConvergenceError)) throw e;
            r = { asExpected: false, reason: e.message };
          }
          out(
            `  ${r.asExpected ? "ok  " : "FAIL"}  ${st.on}$ ${stepCommand(st)}${r.asExpected ? "" : `   (${r.reason}; the lab stays up as it is)`}`,
          );
          for (const n of s.notes.splice(0)) out(`        note: ${n}`);
          if (!r.asExpected) break;
        }
        out(`\nrun ${s.runId} is up. Nodes: ${lab.nodes.map((n) => n.name).join(", ")}`);
        out(`  shell:     labwright exec ${lab.name} ${lab.nodes[0]?.name ?? "<node>"}`);
        out(`  tear down: labwright down ${lab.name}`);
      } catch (e) {
        show.done();
        // Interrupted: start() has unwound what it built; say so and exit as `run` does.
        if (!ctrl.signal.aborted) throw e;
        err(`labwright up: ${(e as Error).message}; nothing was left behind`);
        exitCode = 130;
      }
    });

  p.command("down")
    .description("tear a run down: its processes, namespaces, containers and files")
    .argument("<run>", "a run id, or a lab name with exactly one run")
    .action(async (ref: string) => {
      const id = await resolveRun(ref);
      const [{ stopRun }, { readState }] = await Promise.all([lazy.lifecycle(), lazy.state()]);
      // A damaged state file does not stop `down`: the run's objects are found by its id.
      const r = await stopRun(id, readState(id));
      out(
        `run ${id} removed: ${r.processes} processes, ${r.namespaces} namespaces, ${r.containers} containers, ${r.paths} paths in ${r.durationMs.toFixed(0)} ms`,
      );
    });

  p.command("status")
    .description("the runs on this machine: lab, backend, phase, owner, nodes and their addresses")
    .option("--json", "as JSON")
    .action(async (o: { json?: boolean }) => {
      const [{ listRunIds, inspectRun }, { isAlive }, { loadLab }] = await Promise.all([lazy.state(), lazy.process(), lazy.load()]);
      const infos = listRunIds().map(inspectRun);
      const runs = infos.flatMap((i) => (i.ok ? [{ ...i.state, ownerAlive: isAlive(i.state.owner) }] : []));
      const damaged = infos.flatMap((i) => (i.ok ? [] : [{ id: i.id, damaged: i.why, ownerAlive: i.owner ? isAlive(i.owner) : null }]));
      if (o.json) {
        out(JSON.stringify([...runs, ...damaged], null, 2));
        return;
      }
      if (!infos.length) {
        out("no labwright runs on this machine");
        return;
      }
      out(
        table(
          ["RUN", "LAB", "BACKEND", "PHASE", "OWNER", "NODE", "ADDRESSES"],
          runs.flatMap((r) => statusRows(r, loadLab)),
        ),
      );
      for (const d of damaged)
        out(
          `${d.id}  (damaged: ${d.damaged}; ${d.ownerAlive ? "its owner is alive" : "`labwright gc` removes it once its owner is gone"})`,
        );
    });

  p.command("exec")
    .description("run a command in a node of a run (no command: an interactive shell)")
    .argument("<run>", "a run id, or a lab name with exactly one run")
    .argument("<node>", "a node or guest of the run")
    .argument("[command...]", "the command, after --")
    .passThroughOptions()
    .action(async (ref: string, node: string, cmd: string[]) => {
      const id = await resolveRun(ref);
      const [{ readState }, { backendNamed }] = await Promise.all([lazy.state(), lazy.registry()]);
      const state = readState(id);
      if (!state) throw new UsageError(`run ${id} has no readable state (see \`labwright status\`)`);
      if (!state.nodes[node]) throw new UsageError(`run ${id} has no node "${node}" (nodes: ${Object.keys(state.nodes).join(", ")})`);
      const given = cmd[0] === "--" ? cmd.slice(1) : cmd;
      const argv = given.length ? given : ["bash", "--norc", "-i"];
      const host = backendNamed(state.backend).attach(state, node);
      exitCode = host.interactive(argv, { PS1: `[${state.lab}:${node}] \\w# `, LABWRIGHT_RUN: state.id, LABWRIGHT_NODE: node });
    });

  p.command("capture")
    .description("capture packets on a node's interface into a pcap file on this machine (tcpdump)")
    .argument("<run>", "a run id, or a lab name with exactly one run")
    .argument("<node>", "a node or guest of the run")
    .argument("<dev>", "the interface (any: all of them)")
    .option("-c, --count <n>", "stop after this many packets")
    .option("-G, --seconds <s>", "stop after this many seconds")
    .requiredOption("-w, --write <file>", "the pcap file")
    .action(async (ref: string, node: string, dev: string, o: { count?: string; seconds?: string; write: string }) => {
      const id = await resolveRun(ref);
      const [{ readState }, { backendNamed }] = await Promise.all([lazy.state(), lazy.registry()]);
      const state = readState(id);
      if (!state?.nodes[node]) throw new UsageError(`run ${id} has no node "${node}"`);
      if (o.count !== undefined && !/^[1-9]\d{0,6}$/.test(o.count)) throw new UsageError("-c takes a number of packets");
      if (o.seconds !== undefined && !/^[1-9]\d{0,5}$/.test(o.seconds)) throw new UsageError("-G takes a number of seconds");
      if (o.count === undefined && o.seconds === undefined) throw new UsageError("say when to stop: -c <packets> or -G <seconds>");
      const host = backendNamed(state.backend).attach(state, node);
      const file = resolve(o.write);
      const fd = openSync(file, "w", 0o600);
      try {
        const argv = [
          ...(o.seconds ? ["timeout", "--signal=INT", o.seconds] : []),
          "tcpdump",
          "-n",
          "-U",
          "--immediate-mode",
          "-i",
          dev,
          ...(o.count ? ["-c", o.count] : []),
          "-w",
          "-",
        ];
        const code = host.pipe(argv, fd);
        // timeout ends tcpdump with SIGINT: a normal end of a timed capture.
        exitCode = code === 124 ? 0 : code;
      } finally {
        closeSync(fd);
      }
      err(`labwright: ${file}: ${statSync(file).size} bytes`);
    });

  p.command("gc")
    .description("remove what dead runs left behind (and nothing else)")
    .action(async () => {
      const [{ gc }, { stopRun }] = await Promise.all([lazy.gc(), lazy.lifecycle()]);
      const r = await gc(stopRun);
      for (const d of r.damaged) out(`run ${d.id}: ${d.why}`);
      for (const t of r.removed)
        out(
          `removed run ${t.runId}: ${t.processes} processes, ${t.namespaces} namespaces, ${t.paths} paths${t.note ? ` (found by its id: ${t.note})` : ""}`,
        );
      if (!r.removed.length) out("nothing to remove");
      if (r.kept.length) out(`kept live runs: ${r.kept.join(", ")}`);
      if (r.unclaimed.length) out(`namespaces named like labwright's but claimed by no run (left alone): ${r.unclaimed.join(", ")}`);
    });

  p.command("import")
    .description("write a lab file from real hosts (interfaces, addresses, routes, forwarding, OVS bridges; LANs from shared subnets)")
    .requiredOption("--inventory <file>", "the hosts (see docs/real-hosts.md)")
    .option("--name <name>", "the lab's name", "imported")
    .option("-o, --output <file>", "write here (default: standard output)")
    .action(async (o: { inventory: string; name: string; output?: string }) => {
      if (!NAME.test(o.name)) throw new UsageError(`--name ${o.name}: ${NAME_HINT}`);
      const backend = await chooseBackend("ssh", o.inventory);
      const [{ SshBackend }, { labYaml, readHost }] = await Promise.all([lazy.ssh(), lazy.fromHosts()]);
      if (!(backend instanceof SshBackend)) throw new UsageError("import reads real hosts: --inventory hosts.yaml");
      try {
        const facts = await Promise.all([...backend.inventory.hosts.keys()].map((h) => readHost(backend.hostOf(h))));
        const { text, notes } = labYaml(o.name, facts, backend.inventory.file);
        if (o.output) {
          writeFileSync(o.output, text);
          out(`wrote ${o.output}: ${facts.length} nodes${notes.length ? ` (${notes.length} notes in its header)` : ""}`);
        } else write(text);
      } finally {
        await backend.close();
      }
    });

  p.command("graph")
    .description("print the topology as a Mermaid flowchart")
    .argument("<lab>", "the lab file (YAML)")
    .action(async (file: string) => {
      write(mermaid((await lazy.load()).loadLab(file)));
    });

  p.command("merge")
    .description("join the JSON results of a lab's shards (run --shard i/n) into one report, JSON, JUnit and step summary")
    .argument("<results...>", "each shard's JSON results")
    .option("--json <file>", "the merged JSON results (default results/<lab>-<time>-merged.json)")
    .option("--junit <file>", "JUnit XML of the merged results")
    .option("--lab <file>", "the lab file (default: the path the results name), for the step summary's topology and annotations")
    .action(async (files: string[], o: { json?: string; junit?: string; lab?: string }) => {
      const { loadLab } = await lazy.load();
      const parts = files.map((f) => {
        try {
          return JSON.parse(readFileSync(f, "utf8")) as LabResult;
        } catch (e) {
          throw new UsageError(`${f}: not the JSON results of a run (${(e as Error).message.split("\n")[0]})`);
        }
      });
      let result: LabResult;
      try {
        result = mergeShards(parts);
      } catch (e) {
        if (e instanceof MergeError) throw new UsageError(e.message);
        throw e;
      }
      let lab: Lab;
      try {
        lab = loadLab(o.lab ?? result.file);
      } catch (e) {
        if (!(e instanceof LabFileError) || o.lab) throw e;
        throw new UsageError(`the shards name the lab file ${result.file}, which cannot be read here: give its path with --lab FILE`);
      }
      const json = resolve(o.json ?? join("results", `${result.lab}-${result.startedAt.replace(/[:.]/g, "-")}-merged.json`));
      writePrivate(json, JSON.stringify(result, null, 2));
      await ciOutputs(result, lab, o.junit);
      out(`labwright merge: ${parts.length} shards of ${result.lab}\n\n` + (await lazy.text()).labReport(result, json));
      exitCode = result.ok ? 0 : 1;
    });

  p.addCommand(toolchainCommand(out));

  p.command("validate")
    .description("check a lab file without touching the machine")
    .argument("<lab>", "the lab file (YAML)")
    .action(async (file: string) => {
      const lab = (await lazy.load()).loadLab(file);
      out(`${file}: valid — ${lab.nodes.length} nodes, ${lab.lans.length} LANs, scenarios: ${lab.scenarios.map((s) => s.name).join(", ")}`);
    });
  return p;
}

/** A run's rows for `status`: one per node, with its addresses (from the lab file, when it is still readable). */
function statusRows(r: RunState & { ownerAlive: boolean }, loadLab: (file: string) => Lab): string[][] {
  const owner = r.persistent ? "labwright up" : r.ownerAlive ? `pid ${r.owner.pid}` : "gone: gc removes it";
  let addresses = new Map<string, string>();
  try {
    addresses = new Map(
      loadLab(r.file).nodes.map((n) => [
        n.name,
        n.interfaces.flatMap((i) => (i.address ? [`${i.name} ${i.address}/${i.prefix}`] : [])).join(", "),
      ]),
    );
  } catch {
    /* the lab file moved: names only */
  }
  const nodes = Object.entries(r.nodes);
  if (!nodes.length) return [[r.id, r.lab, r.backend, r.phase, owner, "", ""]];
  return nodes.map(([n, e], k) =>
    (k === 0 ? [r.id, r.lab, r.backend, r.phase, owner] : ["", "", "", "", ""]).concat([
      n,
      e.instanceOf ? `(guest of ${e.instanceOf})` : (addresses.get(n) ?? ""),
    ]),
  );
}

function table(head: string[], rows: string[][]): string {
  const w = head.map((h, k) => Math.max(h.length, ...rows.map((r) => (r[k] ?? "").length)));
  const line = (r: string[]) =>
    r
      .map((c, k) => (k === r.length - 1 ? c : c.padEnd(w[k]!)))
      .join("  ")
      .trimEnd();
  return [line(head), ...rows.map(line)].join("\n");
}

async function main(argv: string[]): Promise<number> {
  const p = program();
  if (argv.length === 0) {
    p.outputHelp({ error: true });
    return 2;
  }
  try {
    await p.parseAsync(argv, { from: "user" });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end with code 0; anything commander refuses is a usage error.
      return e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help" ? 0 : 2;
    }
    throw e;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof LabFileError || e instanceof UsageError || (labModule !== undefined && e instanceof labModule.BackendRefusal)) {
      err((e as Error).message);
      process.exit(2);
    }
    if (e instanceof PreflightError || e instanceof ToolchainError) {
      err(`labwright: ${e.message}`);
      process.exit(3);
    }
    err(`labwright: ${(e as Error).stack ?? e}`);
    process.exit(1);
  },
);
