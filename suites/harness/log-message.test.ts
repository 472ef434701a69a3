import { appendFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Daemon, Host } from "../../topology/backends/host.ts";
import { logMessage } from "../../topology/wait/log-message.ts";
import { scratchDir } from "../support/scratch.ts";

const dir = scratchDir("lw-logmsg-");
const ready = (s: ReturnType<typeof logMessage>) => s.ready({} as Host, {} as Daemon);

describe("waiting for a daemon's log line", () => {
  it("matches only what was logged after the offset, and only a complete line; each poll reads on from the last complete line", async () => {
    const f = join(dir, "d.log");
    writeFileSync(f, "12:00 DEBUG sync finished\n");
    const from = 26;
    const s = logMessage(f, /DEBUG sync finished$/m, from, "end its sync");
    expect(await ready(s)).toBe(false); // the line before the offset: an earlier start's
    appendFileSync(f, "12:01 INFO other\n12:01 DEBUG sync fin");
    expect(await ready(s)).toBe(false); // the line is not complete yet
    appendFileSync(f, "ished\n");
    expect(await ready(s)).toBe(true);
  });

  it("a line split across two polls is tested whole, once complete", async () => {
    const f = join(dir, "e.log");
    writeFileSync(f, "");
    const s = logMessage(f, /^x DEBUG sync finished$/, 0, "end its sync");
    appendFileSync(f, "x DEBUG sync");
    expect(await ready(s)).toBe(false);
    appendFileSync(f, " finished\nnext");
    expect(await ready(s)).toBe(true);
  });

  it("a missing file is not ready", async () => {
    expect(await ready(logMessage(join(dir, "none.log"), /x/, 0, "log x"))).toBe(false);
  });
});
