import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { parseIncus } from "../../topology/model/commands/incus.ts";
import { splitCommand } from "../../topology/model/commands/words.ts";

/** bash's own words for each text: `set -- <text>` with no globbing and no brace expansion, one bash for all (the texts are data: only lines labwright accepts, which have nothing bash would run). */
function bashWords(texts: readonly string[]): string[][] {
  const script = `set -f +B; while IFS= read -r -d '' t; do ( eval "set -- $t" && if [ $# -gt 0 ]; then printf '%s\\0' "$@"; fi ); printf '\\1\\0'; done`;
  const r = spawnSync("bash", ["-c", script], {
    input: texts.map((t) => t + "\0").join(""),
    encoding: "utf8",
    env: { PATH: process.env.PATH, HOME: "/nonexistent" },
  });
  expect(r.status, r.stderr).toBe(0);
  const out: string[][] = [];
  let cur: string[] = [];
  for (const w of r.stdout.split("\0").slice(0, -1)) {
    if (w === "\u0001") {
      out.push(cur);
      cur = [];
    } else cur.push(w);
  }
  return out;
}

/** A small deterministic generator (mulberry32), so a failure names a reproducible case. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("incus and openstack lines split as bash splits them", () => {
  it("the docs' forms: a continuation line, quotes, escapes, a trailing comment, `< file`", () => {
    expect(splitCommand("network create UPLINK --type=physical \\\n    parent=enp3s0").words).toEqual([
      "network",
      "create",
      "UPLINK",
      "--type=physical",
      "parent=enp3s0",
    ]);
    expect(splitCommand(`config set k "a b" 'c d' e\\ f "g\\"h" 'i\\j'`).words).toEqual([
      "config",
      "set",
      "k",
      "a b",
      "c d",
      "e f",
      'g"h',
      "i\\j",
    ]);
    expect(splitCommand("network list # all of them").words).toEqual(["network", "list"]);
    expect(splitCommand("network acl create web < acl.yaml")).toEqual({ words: ["network", "acl", "create", "web"], stdin: "acl.yaml" });
    expect(parseIncus("profile edit default < p.yaml").stdinFile).toBe("p.yaml");
  });

  it("what bash would expand, run or redirect otherwise is refused with the reason", () => {
    const err = (l: string) => {
      try {
        splitCommand(l);
        return "accepted";
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(err("network list\nnetwork show x")).toMatch(/a line break ends the command in a shell: end the line with \\/);
    expect(err("config set k {a,b}")).toMatch(/a shell would expand the braces/);
    expect(err("file push ~/x c1/root/")).toMatch(/a shell would expand `~`/);
    expect(err("network list > out")).toMatch(/`>` is shell syntax/);
    expect(err("network create x < a.yaml extra")).toMatch(/`< file` comes last/);
    expect(err("network create x <")).toMatch(/`<` needs a file name/);
    expect(err("config set k 'a")).toMatch(/unterminated ' quote/);
  });

  it("fuzz: for every generated line labwright accepts, its words are bash's words (2000 lines)", () => {
    const alphabet = [
      "a",
      "b",
      "-",
      "=",
      ":",
      ",",
      ".",
      "/",
      " ",
      " ",
      "\t",
      "\n",
      "\\",
      "\\\n",
      "'",
      '"',
      "#",
      "{",
      "}",
      "{a,b}",
      "~",
      "*",
      "?",
      "[",
      "<",
      "x.yaml",
      "é",
      "\u00a0",
    ];
    const next = rng(20261205);
    const accepted: { text: string; words: string[] }[] = [];
    for (let k = 0; k < 2000; k++) {
      const n = 1 + Math.floor(next() * 12);
      let text = "";
      for (let j = 0; j < n; j++) text += alphabet[Math.floor(next() * alphabet.length)];
      try {
        const s = splitCommand(text);
        if (s.stdin === undefined) accepted.push({ text, words: s.words });
      } catch {
        /* refused: bash would expand, run or misread it */
      }
    }
    expect(accepted.length).toBeGreaterThan(400);
    const theirs = bashWords(accepted.map((a) => a.text));
    const differ = accepted.map((a, k) => ({ ...a, bash: theirs[k] })).filter((a) => JSON.stringify(a.words) !== JSON.stringify(a.bash));
    expect(differ.slice(0, 5)).toEqual([]);
  });
});
