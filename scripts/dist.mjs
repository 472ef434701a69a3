// Whether dist/ (scripts/build.mjs: tsc's JavaScript of topology/ and the CLI) was built from the
// sources as they are now. The CLI runs from dist/ when it was, and through tsx when it was not:
// tsx's loader thread costs about 1.3 s of every start (measured: `--help` about 2 s through tsx,
// 0.2 s from dist/), which a test run pays for each of its hundred-odd CLI calls.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** Written by the build before it compiles: its time is the build's start. */
export const STAMP = join(ROOT, "dist", ".built");
export const BUILT_CLI = join(ROOT, "dist", "scripts", "cli.js");

/** The lab files (topology/labs): data the build neither compiles nor copies; editing one leaves dist/ as it is. */
const NOT_BUILT = join(ROOT, "topology", "labs");

/** The newest modification time among the sources the build compiles or copies (files and folders: a deleted file changes its folder's). */
function newest(path) {
  if (path === NOT_BUILT) return 0;
  const st = statSync(path);
  let t = st.mtimeMs;
  if (st.isDirectory()) for (const e of readdirSync(path)) t = Math.max(t, newest(join(path, e)));
  return t;
}

export function distIsFresh() {
  try {
    const built = statSync(STAMP).mtimeMs;
    statSync(BUILT_CLI);
    const inputs = ["topology", "scripts/cli.ts", "package.json", "tsconfig.json", "tsconfig.build.json"];
    const sources = Math.max(...inputs.map((p) => newest(join(ROOT, p))));
    // Equal times: both from the npm tarball (npm gives every file one time), built by prepack.
    return built >= sources;
  } catch {
    return false;
  }
}
