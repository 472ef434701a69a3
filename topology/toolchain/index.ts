import { buildToolchain } from "./build.ts";
import { loadToolchain } from "./definition.ts";
import { KEY_PACKAGES, type ToolchainInfo } from "./info.ts";

export {
  buildToolchain,
  builtToolchain,
  lockDifferences,
  removeToolchain,
  rootPackages,
  TOOLCHAIN_CACHE,
  toolchainDir,
  type Built,
  type Manifest,
} from "./build.ts";
export { KEY_PACKAGES, type ToolchainInfo } from "./info.ts";
export { DEFAULT_TOOLCHAIN, loadToolchain, toolchainNames, ToolchainError, upstreamOf, type Toolchain } from "./definition.ts";

/** Toolchain `name` built (first if this machine has none): its root and what a report says of it. */
export async function ensureToolchain(name: string, say: (m: string) => void): Promise<{ root: string; info: ToolchainInfo }> {
  const b = await buildToolchain(loadToolchain(name), say);
  const versions = Object.fromEntries(KEY_PACKAGES.flatMap((p) => (b.manifest.packages[p] ? [[p, b.manifest.packages[p]!]] : [])));
  return { root: b.root, info: { name: b.manifest.name, hash: b.manifest.hash, versions } };
}
