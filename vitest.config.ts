import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The official checkpointer conformance suite registers its tests through vitest globals.
    globals: true,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
