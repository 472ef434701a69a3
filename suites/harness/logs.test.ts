import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { NetnsHost } from "../../topology/backends/netns.ts";
import { LOG_ALLOWLIST, scanLogs } from "../../topology/stacks/ovs.ts";

describe("OVS/OVN log scan", () => {
  const dir = mkdtempSync(join(tmpdir(), "lw-logs-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reports WARN/ERR lines that are not on the allowlist, and only those", async () => {
    writeFileSync(
      join(dir, "ovn-controller.log"),
      [
        "2026-11-21T06:15:31.716Z|00001|vlog|INFO|opened log file",
        "2026-11-21T06:15:31.716Z|00002|vif_plug_provider|WARN|failed to initialize representor VIF plug provider class: No such file or directory",
        "2026-11-21T06:15:32.000Z|00003|ofctl|ERR|br-int: flow_mod failed: OFPBRC_BAD_TABLE_ID",
        "2026-11-21T06:15:33.000Z|00004|binding|INFO|Claiming lport x",
      ].join("\n"),
    );
    writeFileSync(join(dir, "not-a-log.txt"), "x|ERR|ignored: not a .log file\n");
    const problems = await scanLogs(new NetnsHost("pamonha1", "unused", dir), dir);
    expect(problems.map((p) => p.line)).toEqual(["2026-11-21T06:15:32.000Z|00003|ofctl|ERR|br-int: flow_mod failed: OFPBRC_BAD_TABLE_ID"]);
    expect(problems[0]!.node).toBe("pamonha1");
  });

  it("the allowlist is short and every entry says why", () => {
    expect(LOG_ALLOWLIST.length).toBeLessThanOrEqual(10);
    for (const a of LOG_ALLOWLIST) expect(a.why.length).toBeGreaterThan(10);
  });
});
