import { BaseSequencer, type TestSpecification } from "vitest/node";
import { defineConfig } from "vitest/config";

/**
 * Vitest's default order (slowest or largest file first) moved with file sizes. The OpenStack suite
 * failed 2 of 2 clean-clone runs when it came after the Incus suite (the router's gateway did not
 * answer after a floating-IP test over 300 s) and passed in every run where it came first, and alone:
 * cause not found, so the order is pinned: the OpenStack suites first, then vitest's own order.
 */
class OpenStackFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const first = (f: TestSpecification) => (f.moduleId.includes("/suites/kolla-openstack/") ? 0 : 1);
    return sorted.sort((a, b) => first(a) - first(b)); // a stable sort: vitest's order within each group
  }
}

// The suites build labs in the kernel (namespaces, veths, daemons): one file at a time.
export default defineConfig({
  test: {
    include: ["suites/**/*.test.ts"],
    fileParallelism: false,
    sequence: { sequencer: OpenStackFirst },
    testTimeout: 120_000,
    hookTimeout: 120_000,
    globalSetup: ["suites/global-setup.ts"],
    setupFiles: ["topology/expect/matchers.ts"],
    reporters: ["default", "json", "junit"],
    outputFile: { json: "results/vitest.json", junit: "results/junit.xml" },
  },
});
