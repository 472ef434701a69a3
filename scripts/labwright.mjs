#!/usr/bin/env node
// The labwright command: runs the CLI from dist/ when it was built from the sources as they are
// (scripts/dist.mjs), else the TypeScript itself through tsx (no build step needed).
import { pathToFileURL } from "node:url";
import { BUILT_CLI, distIsFresh } from "./dist.mjs";

if (distIsFresh()) {
  await import(pathToFileURL(BUILT_CLI).href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("./cli.ts");
}
