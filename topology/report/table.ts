/** Output of the stand-ins, as the real clients print it. */

/** A boxed table as incus and openstack print them. */
export function table(head: string[], rows: string[][]): string {
  const w = head.map((h, k) => Math.max(h.length, ...rows.flatMap((r) => (r[k] ?? "").split("\n").map((l) => l.length))));
  const line = "+" + w.map((x) => "-".repeat(x + 2)).join("+") + "+";
  const row = (r: string[]) => "| " + r.map((c, k) => c.padEnd(w[k]!)).join(" | ") + " |";
  return [line, row(head), line, ...rows.map(row), ...(rows.length ? [line] : [])].join("\n") + "\n";
}
