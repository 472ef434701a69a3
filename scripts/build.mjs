#!/usr/bin/env node
// Builds the package's JavaScript and type declarations into dist/ (consumers need no tsx), with
// the files the code reads beside it (the probes' in-node helper).
import { copyFileSync, cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
rmSync(`${root}dist`, { recursive: true, force: true });
// The stamp first: its time is the build's start, so a source saved during the build makes dist/ stale (scripts/dist.mjs).
mkdirSync(`${root}dist`, { recursive: true });
writeFileSync(`${root}dist/.built`, "");
execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, "-p", `${root}tsconfig.build.json`], { stdio: "inherit" });
copyFileSync(`${root}topology/probes/net-helper.mjs`, `${root}dist/topology/probes/net-helper.mjs`);
copyFileSync(`${root}topology/stacks/ovs/kernel-datapath.sh`, `${root}dist/topology/stacks/ovs/kernel-datapath.sh`);
copyFileSync(
  `${root}topology/stacks/openstack/client/openstack-forkserver.py`,
  `${root}dist/topology/stacks/openstack/client/openstack-forkserver.py`,
);
// The built-in log allowlists are data, read at run time beside topology/logs/allowlist.js.
cpSync(`${root}topology/logs/allow`, `${root}dist/topology/logs/allow`, { recursive: true });
