/**
 * `npm test` without redis-server on PATH stops at once with one line saying so, instead of failing the
 * Redis tests one by one with spawn errors and start-up timeouts.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REDIS_SERVER_MISSING, redisServerProblem } from "./helpers/redis-server.ts";

describe("redis-server check", () => {
  it("names the problem when redis-server is not on PATH, and nothing when it is", () => {
    expect(redisServerProblem({ PATH: "/nonexistent" })).toBe(REDIS_SERVER_MISSING);
    expect(redisServerProblem()).toBeUndefined();
  });

  it("stops a vitest run with that one line", () => {
    // A PATH holding node and nothing else.
    const bin = mkdtempSync(join(tmpdir(), "leadgraph-path-"));
    try {
      symlinkSync(process.execPath, join(bin, "node"));
      const run = spawnSync(process.execPath, ["node_modules/vitest/vitest.mjs", "run", "test/env.test.ts"], {
        env: { PATH: bin, HOME: process.env.HOME ?? "" },
        encoding: "utf8",
        timeout: 60_000,
      });
      expect(run.status).toBe(1);
      const output = `${run.stdout}${run.stderr}`;
      expect(output).toContain(REDIS_SERVER_MISSING);
      expect(output).not.toContain("ENOENT");
      expect(output).not.toMatch(/Tests\s+\d+ passed/);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});
