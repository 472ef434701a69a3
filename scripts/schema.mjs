#!/usr/bin/env node
// Writes docs/lab.schema.json (the lab file format as JSON Schema, for editors) from the zod schema.
// `node scripts/schema.mjs --check` exits 1 when the committed file is out of date.
import { readFileSync, writeFileSync } from "node:fs";
import { register } from "tsx/esm/api";

register();
const { labJsonSchema } = await import("../topology/model/json-schema.ts");
const file = new URL("../docs/lab.schema.json", import.meta.url);
const text = JSON.stringify(labJsonSchema(), null, 2) + "\n";
if (process.argv.includes("--check")) {
  const now = readFileSync(file, "utf8");
  if (now !== text) {
    console.error("docs/lab.schema.json is out of date: run node scripts/schema.mjs");
    process.exit(1);
  }
} else writeFileSync(file, text);
