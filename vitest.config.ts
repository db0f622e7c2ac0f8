import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Stops the run with one clear line when redis-server is missing.
    globalSetup: ["test/global-setup.ts"],
    // The official checkpointer conformance suite registers its tests through vitest globals.
    globals: true,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
