#!/usr/bin/env node
// Benchmark (not a test): `sudo node scripts/bench.mjs [runs]`.
import { register } from "tsx/esm/api";

register();
await import("./bench.ts");
