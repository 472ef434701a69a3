#!/usr/bin/env node
// Prints the root namespace's snapshot (links, addresses, routes, rules, nftables, forwarding) as JSON.
import { register } from "tsx/esm/api";

register();
const { rootSnapshot } = await import("../suites/support/machine.ts");
process.stdout.write(JSON.stringify(await rootSnapshot(), null, 2) + "\n");
