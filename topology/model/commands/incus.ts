import { NAME, OBJECT_NAME, OBJECT_NAME_HINT } from "../names.ts";
import { splitCommand } from "./words.ts";

/**
 * An `incus` command line from a lab file. labwright runs the real `incus` client with these words
 * as its arguments (no shell); it reads only what it needs to know before the step runs: the
 * instance a `launch`/`init`/`create` makes (usable like a node in expectations) and the members
 * `--target` names. Incus itself judges everything else and answers with its own text.
 */
export interface IncusLine {
  /** The arguments after `incus`, split as a shell splits plain words and quotes (no expansions). */
  readonly argv: readonly string[];
  /** The instance this command creates, if it is `launch`, `init` or `create`. */
  readonly creates?: string;
  /** The image it is created from (`images:debian/12`), as written. */
  readonly image?: string;
  /** Members named by `--target`. */
  readonly targets: readonly string[];
  /** `< file`: the file (as written, relative to the lab file) whose text the client reads on standard input. */
  readonly stdinFile?: string;
}

export class IncusArgsError extends Error {}

/** Flags of `incus launch|init|create` that take a value (long and short forms), so positionals can be told apart. */
const VALUE_FLAGS = new Set([
  "--config",
  "-c",
  "--device",
  "-d",
  "--profile",
  "-p",
  "--network",
  "-n",
  "--storage",
  "-s",
  "--target",
  "--type",
  "-t",
  "--description",
  "--project",
  "--remote",
]);
const CREATING = new Set(["launch", "init", "create"]);

export function parseIncus(line: string): IncusLine {
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(line)) throw new IncusArgsError("contains control characters");
  const { words: argv, stdin } = splitCommand(line, IncusArgsError);
  // No shell ever sees these words; shell syntax in one is a mistake (or an attack) worth saying.
  const shelly = argv.find((w) => /[;|&`$<>]/.test(w));
  if (shelly !== undefined)
    throw new IncusArgsError(
      `${JSON.stringify(shelly)}: a value is one word of the incus command line, without shell syntax (; | & \` $ < >): labwright runs incus with these words as arguments, no shell`,
    );
  if (!argv.length) throw new IncusArgsError("no arguments (write what follows `incus`, e.g. `network list`)");
  const targets: string[] = [];
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i]!;
    if (w === "--") break; // what follows is a command for the instance (`incus exec c1 -- ...`)
    const eq = w.startsWith("--") ? w.indexOf("=") : -1;
    const flag = eq > 0 ? w.slice(0, eq) : w;
    if (flag === "--target") {
      const v = eq > 0 ? w.slice(eq + 1) : argv[i + 1];
      if (v === undefined) throw new IncusArgsError("--target needs a member name");
      if (!NAME.test(v)) throw new IncusArgsError(`--target ${JSON.stringify(v)} is not a member name`);
      targets.push(v);
    }
    if (w.startsWith("-") && w !== "-") {
      if (eq < 0 && VALUE_FLAGS.has(flag)) i++;
      continue;
    }
    positional.push(w);
  }
  let creates = CREATING.has(positional[0] ?? "") ? positional[2] : undefined;
  if (creates !== undefined) {
    creates = creates.includes(":") ? creates.slice(creates.indexOf(":") + 1) : creates;
    if (!OBJECT_NAME.test(creates)) throw new IncusArgsError(`instance name ${JSON.stringify(creates)}: ${OBJECT_NAME_HINT}`);
  }
  const image = creates !== undefined ? positional[1] : undefined;
  return {
    argv,
    targets,
    ...(creates !== undefined ? { creates } : {}),
    ...(image !== undefined ? { image } : {}),
    ...(stdin !== undefined ? { stdinFile: stdin } : {}),
  };
}
