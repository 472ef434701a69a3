import type { Host } from "../../backends/host.ts";
import type { IncusLine } from "../../model/commands/incus.ts";
import type { CommandResult } from "../../run/exec.ts";
import type { IncusView } from "./view.ts";

/**
 * An `incus` step: the real `incus` client in the member, with the line's words as its arguments (no
 * shell). Incus changes OVS on every member (its uplink bridges), so each gets a kernel-datapath pass
 * after it. When it fails and a member's incusd is gone, the result says which and shows its log's
 * tail: another member's client reports only `EOF` (seen once in CI: Incus 6.0.4 can die of a
 * concurrent map access while a forwarded operation is read, lxc/incus#2741, fixed in 6.0.6).
 */
export async function incusStep(
  incus: IncusView,
  host: Host,
  command: IncusLine,
  reconcile: (member: string) => Promise<string[]>,
  /** The text of the step's `< file`, on the client's standard input. */
  stdin?: string,
): Promise<CommandResult> {
  const r = await (host.machineView?.() ?? host).exec(["incus", ...command.argv], {
    timeoutS: 300,
    ...(stdin !== undefined ? { input: stdin } : {}),
  });
  if (r.exitCode !== 0) {
    const dead = incus.deadDaemons();
    if (dead.length)
      r.stderr +=
        dead.map((d) => `\nlabwright: incusd on ${d.member} is no longer running; the end of its log:\n${d.tail}`).join("") + "\n";
  }
  const alias = command.image?.startsWith("images:") ? command.image.slice("images:".length) : undefined;
  if (r.exitCode === 0 && alias !== undefined && !/^debian\/(12|bookworm)(\/default)?$/.test(alias))
    incus.note(
      `images:${alias} is labwright's small lab image (busybox on Debian's busybox-static package), which the lab's images: remote serves for every alias: not ${alias.split("/")[0]} itself`,
    );
  await Promise.all(incus.memberNames.map((m) => reconcile(m)));
  return r;
}

/**
 * After any step on a member: what Incus says exists now (`incus list`, `incus network list`, read
 * once: a `run:` may have used the client or restarted incusd); after an `incus` step, then, what it
 * set in motion (instances' leases) converged, settle() reading again while it waits. (The view was
 * read twice after an `incus` step before: in the step and after its settle, 0.1-0.3 s each here.)
 */
export async function afterStep(incus: IncusView, kind: string, on: string): Promise<void> {
  const isIncus = kind === "incus";
  if (isIncus || incus.isMember(on)) await incus.refresh();
  if (isIncus) await incus.settle();
}

/**
 * On a real host: an `incus` step with `< file` runs the client with the file's text (read beside the
 * lab file, on this machine) on its standard input; null for any other step.
 */
export function incusWithInput(host: Host, step: { readonly command: IncusLine; readonly stdin?: string }): Promise<CommandResult> | null {
  return step.stdin === undefined ? null : host.exec(["incus", ...step.command.argv], { timeoutS: 300, input: step.stdin });
}
