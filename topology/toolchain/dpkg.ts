import { readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * A package's installed version under a root filesystem, from its dpkg database (nothing of the
 * root runs: a binary run chrooted there may write into it). Undefined when not installed.
 */
export function installedPackage(root: string, pkg: string): string | undefined {
  let status: string;
  try {
    status = readFileSync(join(root, "var/lib/dpkg/status"), "utf8");
  } catch {
    return undefined;
  }
  for (const stanza of status.split(/\n\n+/)) {
    if (!stanza.startsWith(`Package: ${pkg}\n`)) continue;
    if (!/^Status: .* installed$/m.test(stanza)) return undefined;
    return /^Version: (\S+)$/m.exec(stanza)?.[1];
  }
  return undefined;
}
