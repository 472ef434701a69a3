import { token } from "../run/tokens.ts";
/** Command-line helpers of the emulated openstack CLI. */

/** A boxed table as incus and openstack print them. */
export function table(head: string[], rows: string[][]): string {
  const w = head.map((h, k) => Math.max(h.length, ...rows.flatMap((r) => (r[k] ?? "").split("\n").map((l) => l.length))));
  const line = "+" + w.map((x) => "-".repeat(x + 2)).join("+") + "+";
  const row = (r: string[]) => "| " + r.map((c, k) => c.padEnd(w[k]!)).join(" | ") + " |";
  return [line, row(head), line, ...rows.map(row), ...(rows.length ? [line] : [])].join("\n") + "\n";
}

/**
 * The instance's own DHCP client (busybox udhcpc) configures eth0 from the DHCP server's answer:
 * address, router, MTU, DNS. Prints `bound <ip>/<mask> ...` on success.
 */
export function dhcpClientCommand(dev = "eth0"): string[] {
  const script = [
    "#!/bin/sh",
    '[ "$1" = bound ] || exit 0',
    'ip addr flush dev "$interface"',
    'ip addr add "$ip/$mask" dev "$interface"',
    '[ -n "$mtu" ] && ip link set dev "$interface" mtu "$mtu"',
    'for r in $router; do ip route replace default via "$r" dev "$interface"; break; done',
    ": > /etc/resolv.conf",
    '[ -n "$domain" ] && echo "search $domain" >> /etc/resolv.conf',
    'for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done',
    'echo "options timeout:1 attempts:2" >> /etc/resolv.conf',
    'echo "bound $ip/$mask router $router mtu $mtu dns $dns"',
  ].join("\n");
  return ["bash", "-c", `f=$(mktemp); cat > "$f" <<'EOF'\n${script}\nEOF\nchmod +x "$f"; busybox udhcpc -i ${token(dev, "interface")} -f -q -n -t 10 -T 1 -A 1 -s "$f"; rc=$?; rm -f "$f"; exit $rc`];
}
