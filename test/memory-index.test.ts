import { describe, expect, it } from "vitest";
import { indexAccounts } from "../app/index-accounts.ts";
import type { PastAccount } from "../domain/types.ts";
import { HashingEmbedder } from "../tools/embedded/hashing-embedder.ts";
import { MemoryVectorIndex } from "../tools/embedded/memory-index.ts";

function account(id: string, overrides: Partial<PastAccount> = {}): PastAccount {
  return {
    id,
    name: `Company ${id}`,
    domain: `${id}.example`,
    industry: "software",
    employees: 300,
    country: "DE",
    region: "EMEA",
    outcome: "won",
    arr: 50_000,
    note: "",
    ...overrides,
  };
}

describe("MemoryVectorIndex", () => {
  it("ranks by cosine similarity and returns the stored account", async () => {
    const index = new MemoryVectorIndex();
    await index.upsert([
      { id: "x", values: [1, 0, 0], account: account("x") },
      { id: "y", values: [0.7, 0.7, 0], account: account("y") },
      { id: "z", values: [0, 0, 1], account: account("z") },
    ]);
    const matches = await index.query([2, 0, 0], { topK: 2 });

    expect(matches.map((m) => m.id)).toEqual(["x", "y"]);
    expect(matches[0]?.score).toBeCloseTo(1, 10);
    expect(matches[1]?.score).toBeCloseTo(Math.SQRT1_2, 10);
    expect(matches[0]?.account).toEqual(account("x"));
    expect(index.name).toBe("memory");
  });

  it("applies equality filters on account metadata", async () => {
    const index = new MemoryVectorIndex();
    await index.upsert([
      { id: "emea-won", values: [1, 0], account: account("emea-won") },
      { id: "emea-lost", values: [1, 0], account: account("emea-lost", { outcome: "lost" }) },
      { id: "na-won", values: [1, 0], account: account("na-won", { region: "NA", country: "US" }) },
    ]);

    const emeaWon = await index.query([1, 0], { topK: 10, filter: { region: "EMEA", outcome: "won" } });
    expect(emeaWon.map((m) => m.id)).toEqual(["emea-won"]);
    const us = await index.query([1, 0], { topK: 10, filter: { country: "US" } });
    expect(us.map((m) => m.id)).toEqual(["na-won"]);
    const none = await index.query([1, 0], { topK: 10, filter: { industry: "retail" } });
    expect(none).toEqual([]);
  });

  it("overwrites by id and breaks ties by id", async () => {
    const index = new MemoryVectorIndex();
    await index.upsert([{ id: "b", values: [1, 0], account: account("b") }]);
    await index.upsert([
      { id: "a", values: [1, 0], account: account("a") },
      { id: "b", values: [1, 0], account: account("b", { arr: 1 }) },
    ]);

    expect(index.size).toBe(2);
    const matches = await index.query([1, 0], { topK: 5 });
    expect(matches.map((m) => m.id)).toEqual(["a", "b"]);
    expect(matches[1]?.account.arr).toBe(1);
  });

  it("refuses vectors of another dimension", async () => {
    const index = new MemoryVectorIndex();
    await index.upsert([{ id: "a", values: [1, 0], account: account("a") }]);
    await expect(index.upsert([{ id: "b", values: [1, 0, 0], account: account("b") }])).rejects.toThrow(
      /dimensions/,
    );
    await expect(index.query([1, 0, 0], { topK: 1 })).rejects.toThrow(/dimensions/);
  });

  it("scores a zero vector 0 rather than NaN", async () => {
    const index = new MemoryVectorIndex();
    await index.upsert([{ id: "a", values: [1, 0], account: account("a") }]);
    const [match] = await index.query([0, 0], { topK: 1 });
    expect(match?.score).toBe(0);
  });
});

describe("indexAccounts", () => {
  it("embeds and upserts in batches keyed by account id, and a second run changes nothing", async () => {
    const embedder = new HashingEmbedder({ dimension: 64 });
    const index = new MemoryVectorIndex();
    const accounts = Array.from({ length: 25 }, (_, i) =>
      account(`acc-${String(i).padStart(2, "0")}`, { employees: 20 + i * 200 }),
    );

    const first = await indexAccounts(accounts, embedder, index, { batchSize: 10 });
    expect(first).toEqual({ accounts: 25, upserted: 25, batches: 3 });
    const [probe] = await embedder.embed(["industry: software\nsize: 201-1000 employees"]);
    const before = await index.query(probe!, { topK: 25 });

    const second = await indexAccounts(accounts, embedder, index, { batchSize: 10 });
    expect(second).toEqual(first);
    expect(index.size).toBe(25);
    expect(await index.query(probe!, { topK: 25 })).toEqual(before);
  });

  it("keeps the last version of a repeated id", async () => {
    const index = new MemoryVectorIndex();
    const result = await indexAccounts(
      [account("dup", { arr: 1 }), account("dup", { arr: 2 })],
      new HashingEmbedder(),
      index,
    );
    expect(result).toEqual({ accounts: 2, upserted: 1, batches: 1 });
    const [match] = await index.query((await new HashingEmbedder().embed(["industry: software"]))[0]!, {
      topK: 1,
    });
    expect(match?.account.arr).toBe(2);
  });
});
