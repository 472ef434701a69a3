/**
 * labwright's API: load a lab file, start it on a backend, probe and judge, run scenarios, read the
 * results. Vitest matchers and a lab fixture are in `labwright/vitest`.
 */
export { loadLab, parseLab } from "./model/load.ts";
export { LIMITS } from "./model/limits.ts";
export { LabFileError, formatProblem, type Problem } from "./model/problems.ts";
export type { Lab, NodeSpec, LanSpec, InterfaceSpec, ScenarioSpec, Step, Located, Expectation } from "./model/types.ts";
export {
  start,
  StartedLab,
  preflightLab,
  resolveBackend,
  BackendRefusal,
  type StartOptions,
  type LabEvent,
  type StepResult,
} from "./lab.ts";
export { runLab, runScenario, type LabResult, type ScenarioResult, type StepRecord, type ScenarioOptions } from "./scenario.ts";
export { runCheck, summarize, type CheckResult, type Measurement } from "./expect/check.ts";
export type { ProbeTarget } from "./expect/target.ts";
export * from "./expect/judge.ts";
export type { Backend } from "./backends/backend.ts";
export type { Host, Daemon, ExecOptions, Enclave, EnclaveSpec } from "./backends/host.ts";
export { NetnsBackend } from "./backends/netns.ts";
export { ContainerBackend } from "./backends/containers/backend.ts";
export { SshBackend } from "./backends/ssh/backend.ts";
export { backendNamed } from "./backends/registry.ts";
export type { PingResult, PingOptions } from "./probes/ping.ts";
export type { TraceResult, Hop } from "./probes/traceroute.ts";
export type { LinkState } from "./probes/link.ts";
export type { TcpResult, HttpResult, ResolveResult } from "./probes/sockets.ts";
export type { FileState, UnitState, AppArmorState, PackageState, SysctlState } from "./probes/host-state.ts";
export type { CommandResult } from "./run/exec.ts";
export { PreflightError } from "./run/preflight.ts";
export { gc } from "./run/gc.ts";
export { labReport } from "./report/text.ts";
export { junitXml } from "./report/junit.ts";
export { markdownSummary } from "./report/github.ts";
export { mermaid } from "./report/mermaid.ts";
export { ConvergenceError } from "./wait/convergence.ts";
export type { LogFinding, LogVerdict, LogSource, Severity } from "./logs/types.ts";
export { judgeLogs, scanLogs } from "./logs/scan.ts";
export { summarizeRuns, type RepeatSummary, type Tally } from "./repeat/summary.ts";
export { repeatReport, repeatJunit, repeatMarkdown } from "./report/repeat.ts";
