import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { loadPastAccounts, localAccountsPath } from "../app/accounts-file.ts";
import { createGraphDeps, indexAccountsCommand } from "../app/adapters.ts";
import { silentLogger } from "../app/logger.ts";
import { parseEnv } from "../config/env.ts";
import { loadRevOpsConfig } from "../config/revops.ts";
import type { PastAccount } from "../domain/types.ts";
import { MemoryCounters, MemoryLedger } from "../store/memory.ts";
import { MemoryVectorIndex } from "../tools/embedded/memory-index.ts";

const dir = mkdtempSync(join(tmpdir(), "leadgraph-accounts-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("leadgraph accounts index, local profile", () => {
  it("validates the fixtures corpus", () => {
    expect(loadPastAccounts("fixtures/accounts.json").length).toBeGreaterThanOrEqual(200);
  });

  it("refuses an invalid account, naming its JSON path", () => {
    const bad = join(dir, "bad.json");
    writeFileSync(
      bad,
      JSON.stringify([{ ...loadPastAccounts("fixtures/accounts.json")[0], outcome: "maybe" }]),
    );
    expect(() => loadPastAccounts(bad)).toThrow("$[0].outcome");
  });

  it("stores the corpus the service's local index then starts from; a second run changes nothing", async () => {
    const five = loadPastAccounts("fixtures/accounts.json").slice(0, 5) as PastAccount[];
    const source = join(dir, "five.json");
    writeFileSync(source, JSON.stringify([...five].reverse()));
    const env = parseEnv({ DATA_DIR: join(dir, "data") });
    vi.spyOn(console, "log").mockImplementation(() => {});
    expect(await indexAccountsCommand(env, source)).toBe(0);
    const first = readFileSync(localAccountsPath(env.DATA_DIR), "utf8");
    expect(await indexAccountsCommand(env, source)).toBe(0);
    expect(readFileSync(localAccountsPath(env.DATA_DIR), "utf8")).toBe(first);

    const runtime = await createGraphDeps(env, {
      logger: silentLogger,
      counters: new MemoryCounters(),
      ledger: new MemoryLedger(),
      config: loadRevOpsConfig(env, { logger: silentLogger }),
    });
    const index = runtime.deps.vectorIndex;
    expect(index).toBeInstanceOf(MemoryVectorIndex);
    expect((index as MemoryVectorIndex).size).toBe(5);
    await runtime.close();
  });
});
