import { defineConfig } from "vitest/config";

// The suites build labs in the kernel (namespaces, veths, daemons): one file at a time.
export default defineConfig({
  test: {
    include: ["suites/**/*.test.ts"],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    globalSetup: ["suites/global-setup.ts"],
    setupFiles: ["topology/expect/matchers.ts"],
    reporters: ["default", "json", "junit"],
    outputFile: { json: "results/vitest.json", junit: "results/junit.xml" },
  },
});
