import type { NatRule } from "../model/types.ts";
import { script } from "../run/tokens.ts";

/** The nftables ruleset for a node's NAT rules (one table, owned by the lab). */
export function natRuleset(rules: readonly NatRule[]): string | null {
  if (rules.length === 0) return null;
  const pre: string[] = [];
  const post: string[] = [];
  for (const r of rules) {
    if (r.type === "masquerade") post.push(script`oifname "${r.out}" masquerade`);
    else pre.push(script`iifname "${r.in}" ${r.proto} dport ${r.port} dnat to ${r.to}`);
  }
  return [
    "table ip labwright {",
    "  chain prerouting {",
    "    type nat hook prerouting priority dstnat; policy accept;",
    ...pre.map((l) => `    ${l}`),
    "  }",
    "  chain postrouting {",
    "    type nat hook postrouting priority srcnat; policy accept;",
    ...post.map((l) => `    ${l}`),
    "  }",
    "}",
    "",
  ].join("\n");
}
