import { preflight } from "../topology/run/preflight.ts";

/** The suites need root and the lab tools: say so once, clearly, before any test runs. */
export default function setup(): void {
  preflight(["ip", "bridge", "sysctl", "bash", "ping", "traceroute", "getent", "tcpdump", "nft", "dnsmasq", "busybox"]);
}
