import { defineConfig } from "vitest/config";

// The suites build labs in the kernel (namespaces, veths, daemons): one file at a time, in vitest's
// own order. Before and after every file, suites/support/per-file.ts checks that the kernel state a
// lab could leave behind (bridge netfilter switches, modules, cgroups, held network namespaces,
// mounts) is as the file found it, so no file's verdict can depend on the one before it.
// The --full tier (`scripts/test --full`, LABWRIGHT_FULL=1) adds the *.full.test.ts files: runs of
// ten minutes and more (the seed's 200-network capacity run) that the default command leaves out.
const full = process.env.LABWRIGHT_FULL === "1";

export default defineConfig({
  test: {
    include: ["suites/**/*.test.ts"],
    exclude: full ? ["**/node_modules/**"] : ["**/node_modules/**", "suites/**/*.full.test.ts"],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    globalSetup: ["suites/global-setup.ts"],
    setupFiles: ["topology/expect/matchers.ts", "suites/support/per-file.ts"],
    reporters: ["default", "json", "junit"],
    outputFile: { json: "results/vitest.json", junit: "results/junit.xml" },
  },
});
