import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { loadPastAccounts, localAccountsPath, pastAccountSchema } from "../app/accounts-file.ts";
import { createGraphDeps, indexAccountsCommand } from "../app/adapters.ts";
import { silentLogger } from "../app/logger.ts";
import { parseEnv } from "../config/env.ts";
import { loadRevOpsConfig } from "../config/revops.ts";
import { jsonPath } from "../config/validation.ts";
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

  it("returns what the schema returns and names the problems it names, in the same words", () => {
    // The whole-array parse that loadPastAccounts did before issue 12, as the reference.
    const reference = (file: string, data: unknown) => {
      const parsed = z.array(pastAccountSchema).safeParse(data);
      if (parsed.success) return { data: parsed.data };
      const problems = parsed.error.issues.slice(0, 10).map((i) => `${jsonPath(i.path)}: ${i.message}`);
      return { message: `${file}: invalid past accounts:\n  ${problems.join("\n  ")}` };
    };
    const messageOf = (file: string) => {
      try {
        loadPastAccounts(file);
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error(`${file} was accepted`);
    };
    const fixtures = JSON.parse(readFileSync("fixtures/accounts.json", "utf8")) as Array<
      Record<string, unknown>
    >;
    const [a, b, c, d] = fixtures as [Record<string, unknown>, ...Array<Record<string, unknown>>];

    // Valid, but not all as the schema returns it: padded strings (trimmed) and keys in another order.
    const valid = [
      ...fixtures,
      { ...b, name: "  Padded Name ", industry: "software " },
      { note: "first", ...c },
    ];
    const validFile = join(dir, "valid.json");
    writeFileSync(validFile, JSON.stringify(valid));
    expect(JSON.stringify(loadPastAccounts(validFile))).toBe(
      JSON.stringify(reference(validFile, valid).data),
    );

    // Invalid in many ways, more than ten problems in all.
    const invalid = [
      a,
      { ...b, outcome: "maybe" },
      null,
      { ...c, extra: 1, employees: -1.5, country: "DEU" },
      { ...d, id: "  " },
      ...Array.from({ length: 8 }, () => ({ ...a, region: "EU", arr: "10" })),
    ];
    const invalidFile = join(dir, "invalid.json");
    writeFileSync(invalidFile, JSON.stringify(invalid));
    expect(messageOf(invalidFile)).toBe(reference(invalidFile, invalid).message);

    const notAList = join(dir, "not-a-list.json");
    writeFileSync(notAList, JSON.stringify({ accounts: fixtures }));
    expect(messageOf(notAList)).toBe(reference(notAList, { accounts: fixtures }).message);
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
