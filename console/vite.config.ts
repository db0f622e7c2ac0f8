/**
 * Builds the console into console/dist (committed: `npm start` serves it with no build step). Preact via
 * Vite's own JSX transform (oxc), no plugin: the smallest toolchain that still gives components and hooks.
 */
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/console/",
  // Production JSX whatever NODE_ENV says, so the committed bundle and the test's rebuild agree.
  oxc: { jsx: { runtime: "automatic", importSource: "preact", development: false } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // One small bundle; no source maps shipped (the server sends no stack traces either).
    sourcemap: false,
    reportCompressedSize: false,
  },
});
