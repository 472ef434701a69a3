import { closeSync, fstatSync, openSync, readSync, realpathSync } from "node:fs";
import { dirname, isAbsolute, relative, resolve, sep } from "node:path";

/** What a lab file may cost to read: bounded, so a hostile file fails fast with a clear message. */
export const LIMITS = {
  /** Bytes of a lab file. */
  labBytes: 1024 * 1024,
  /** Bytes of a file a lab refers to (a kolla globals.yml). */
  referencedBytes: 256 * 1024,
  /** YAML aliases resolved per document (the yaml library's own guard against alias bombs). */
  aliases: 100,
  nodes: 1000,
  lans: 1000,
  /** Problems listed; the rest are counted. */
  problems: 50,
} as const;

/** Reads a regular file of at most `limit` bytes; throws an Error whose message says what is wrong. */
export function readBounded(path: string, limit: number): string {
  const fd = openSync(path, "r");
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Error("not a regular file");
    if (st.size > limit) throw new Error(`${st.size} bytes is more than the ${limit} bytes labwright reads`);
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < st.size) {
      const n = readSync(fd, buf, off, st.size - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

/**
 * A file a lab refers to: relative to the lab file's directory and inside it (no absolute path, no
 * `..` or symlink leading out), a regular file of bounded size. Returns its path or a problem text.
 */
export function referencedFile(name: string, labFile: string): { path: string } | { error: string; hint: string } {
  const hint = "give a path relative to the lab file's directory, inside it (e.g. kolla-globals.yml)";
  if (isAbsolute(name) || name.split(/[\\/]/).includes(".."))
    return { error: `${JSON.stringify(name)} is not a path inside the lab file's directory`, hint };
  const base = dirname(labFile);
  let real: string;
  let realBase: string;
  try {
    realBase = realpathSync(base);
    real = realpathSync(resolve(base, name));
  } catch {
    return { error: `no file ${JSON.stringify(name)} beside the lab file`, hint };
  }
  const rel = relative(realBase, real);
  if (rel === "" || rel.startsWith(`..${sep}`) || rel === ".." || isAbsolute(rel))
    return { error: `${JSON.stringify(name)} leads outside the lab file's directory (through a symbolic link)`, hint };
  return { path: real };
}
