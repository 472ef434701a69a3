import { TOKEN } from "../model/names.ts";

/**
 * Text handed to a batch language (`ip -batch`, `ovs-vsctl`/`ovs-ofctl` lines, a generated shell
 * script) is built only from validated tokens: every interpolated value must match TOKEN, or the
 * build throws before anything runs. Names were checked at load; this is the second gate, where a
 * name enters a command (a step's output can create names too).
 */
export class UnsafeTokenError extends Error {
  override name = "UnsafeTokenError";
}

type Word = string | number | bigint;

export function token(value: Word | undefined, what = "value"): string {
  if (value === undefined) throw new UnsafeTokenError(`refusing to put a missing ${what} into a command`);
  const s = String(value);
  if (!TOKEN.test(s))
    throw new UnsafeTokenError(
      `refusing to put ${JSON.stringify(s)} (${what}) into a command: only letters, digits and _@%+=:,./- are allowed, and it may not start with '-'`,
    );
  return s;
}

/** One `ip -batch` line from words, each a validated token. */
export function batchLine(...words: Word[]): string {
  return words.map((w) => token(w, "ip -batch word")).join(" ") + "\n";
}

/**
 * A tagged template for generated scripts and batch text: each interpolation must be a token (or a
 * list of tokens, joined by spaces). Literal parts are the program's own text.
 */
export function script(parts: TemplateStringsArray, ...values: (Word | undefined | readonly Word[])[]): string {
  let out = parts[0]!;
  values.forEach((v, k) => {
    out += Array.isArray(v) ? (v as Word[]).map((x) => token(x)).join(" ") : token(v as Word | undefined);
    out += parts[k + 1]!;
  });
  return out;
}
