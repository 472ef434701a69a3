// Prints the lab namespaces and run directories on this machine (JSON), so the suites' leftover check
// counts only what the suites themselves created: a user's own lab that is up is not a leftover.
import { existsSync, readdirSync } from "node:fs";

const ns = existsSync("/run/netns") ? readdirSync("/run/netns").filter((n) => n.startsWith("lw-")).sort() : [];
const runs = existsSync("/run/labwright") ? readdirSync("/run/labwright").sort() : [];
console.log(JSON.stringify({ namespaces: ns, runs }));
