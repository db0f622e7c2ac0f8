/**
 * The console's built assets are committed (console/dist) so that `npm ci && npm start` serves them with no
 * build step; this test rebuilds them from console/src and fails when the committed bundle is stale.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "vite";
import { afterAll, describe, expect, it } from "vitest";

const CONFIG = join(import.meta.dirname, "..", "console", "vite.config.ts");
const COMMITTED = join(import.meta.dirname, "..", "console", "dist");

function files(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    // Hashes, so a stale bundle fails with a short message rather than the whole file.
    out[path.slice(dir.length + 1)] = createHash("sha256").update(readFileSync(path)).digest("hex");
  }
  return out;
}

describe("console bundle", () => {
  const outDir = mkdtempSync(join(tmpdir(), "leadgraph-console-"));
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it("matches a fresh build of console/src (run `npm run build:console` and commit console/dist)", async () => {
    await build({ configFile: CONFIG, logLevel: "silent", build: { outDir, emptyOutDir: true } });
    const fresh = files(outDir);
    expect(Object.keys(fresh)).toContain("index.html");
    expect(files(COMMITTED)).toEqual(fresh);
  });
});
