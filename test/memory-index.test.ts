import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { indexAccounts } from "../app/index-accounts.ts";
import { profileText } from "../domain/accounts/profile.ts";
import type { PastAccount } from "../domain/types.ts";
import { createProfileEmbedder, HashingEmbedder } from "../tools/embedded/hashing-embedder.ts";
import { MemoryVectorIndex } from "../tools/embedded/memory-index.ts";
import type { AccountFilter } from "../tools/ports.ts";
import { BruteForceVectorIndex } from "./helpers/brute-force-index.ts";
import { random } from "./helpers/random.ts";

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

  it("overwrites an id seen earlier after a run of ascending ids (the corpus file's order), as the brute-force index does", async () => {
    const fast = new MemoryVectorIndex();
    const reference = new BruteForceVectorIndex();
    const next = random(11);
    const record = (id: string) => {
      const values = [next(), next(), next() - 0.5];
      return { id, values, account: account(id, { arr: Math.round(next() * 100) }) };
    };
    // Ascending ids, then the last id again, an earlier one, a new one past the end and one before the start.
    const ascending = Array.from({ length: 200 }, (_, i) => record(`id-${String(i).padStart(3, "0")}`));
    for (const batch of [
      ascending,
      [record("id-199")],
      [record("id-050"), record("id-200")],
      [record("id-")],
    ]) {
      await fast.upsert(batch);
      await reference.upsert(batch);
    }
    expect(fast.size).toBe(202);
    expect(fast.size).toBe(reference.size);
    for (const query of [
      [1, 0, 0],
      [0, 1, 0],
      [0.3, 0.2, -1],
    ])
      expect(await fast.query(query, { topK: 300 })).toEqual(await reference.query(query, { topK: 300 }));
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

describe("MemoryVectorIndex against the brute-force index it replaced", () => {
  it("returns exactly the same matches and scores for the fixture accounts and lead profiles", async () => {
    const accounts = JSON.parse(readFileSync("fixtures/accounts.json", "utf8")) as PastAccount[];
    const embedder = createProfileEmbedder();
    const fast = new MemoryVectorIndex();
    const reference = new BruteForceVectorIndex();
    await indexAccounts(accounts, embedder, fast, { batchSize: 100 });
    await indexAccounts(accounts, embedder, reference, { batchSize: 100 });
    const industries = [...new Set(accounts.map((a) => a.industry)), "unknown-industry"];
    const countries = [...new Set(accounts.map((a) => a.country))];
    const regions = ["NA", "EMEA", "APAC", "LATAM"];
    const next = random(12);
    const pick = <T>(list: T[]): T => list[Math.floor(next() * list.length)] as T;
    const filters: Array<AccountFilter | undefined> = [
      undefined,
      { region: "EMEA" },
      { outcome: "won" },
      { industry: "software", outcome: "lost" },
      { country: "ZZ" },
    ];
    let compared = 0;
    for (let i = 0; i < 300; i++) {
      const text = profileText({
        ...(next() < 0.9 ? { industry: pick(industries) } : {}),
        ...(next() < 0.8 ? { employees: Math.floor(next() ** 3 * 20_000) } : {}),
        ...(next() < 0.8 ? { country: pick(countries) } : {}),
        ...(next() < 0.7 ? { region: pick(regions) } : {}),
      });
      const [vector] = await embedder.embed([text]);
      const options = { topK: pick([1, 3, 3, 3, 10, 250]), filter: pick(filters) };
      expect(await fast.query(vector!, options)).toEqual(await reference.query(vector!, options));
      compared++;
    }
    expect(compared).toBe(300);
  });

  it("agrees on random sparse vectors with negative values, ties, overwrites and a zero query", async () => {
    const next = random(7);
    const fast = new MemoryVectorIndex();
    const reference = new BruteForceVectorIndex();
    const dimension = 64;
    const vectorOf = () => {
      const v = new Array<number>(dimension).fill(0);
      for (let j = 0; j < 6; j++) v[Math.floor(next() * dimension)] = Math.round((next() * 2 - 1) * 4) / 4;
      return v;
    };
    for (let round = 0; round < 4; round++) {
      const batch = Array.from({ length: 400 }, (_, i) => {
        // Ids repeat across rounds (overwrites); every fifth vector is a copy of another (equal scores).
        const id = `a-${Math.floor(next() * 900)}`;
        return { id, values: i % 5 === 0 ? [...(batch0[i % batch0.length] ?? vectorOf())] : vectorOf() };
      });
      const records = batch.map(({ id, values }) => ({ id, values, account: account(id) }));
      await fast.upsert(records);
      await reference.upsert(records);
      for (let q = 0; q < 50; q++) {
        const vector = q === 0 ? new Array<number>(dimension).fill(0) : vectorOf();
        const options = { topK: [1, 3, 17, 5000][q % 4] as number };
        expect(await fast.query(vector, options)).toEqual(await reference.query(vector, options));
      }
    }
    expect(fast.size).toBe(reference.size);
  });
});

describe("MemoryVectorIndex, sparse records", () => {
  it("scores sparse records bit-for-bit as the same vectors upserted densely, overwrites and mixed paths included", async () => {
    const next = random(5);
    const dimension = 64;
    const vectorOf = () => {
      const v = new Array<number>(dimension).fill(0);
      for (let j = 0; j < 8; j++) v[Math.floor(next() * dimension)] = (next() * 2 - 1) / 3;
      return v;
    };
    const sparseOf = (v: number[]) => {
      const indices = v.flatMap((x, i) => (x === 0 ? [] : [i]));
      return { dimension, indices, values: indices.map((i) => v[i] as number) };
    };
    const dense = new MemoryVectorIndex();
    const sparse = new MemoryVectorIndex();
    for (let round = 0; round < 6; round++) {
      const records = Array.from({ length: 300 }, () => {
        const id = `a-${Math.floor(next() * 700)}`;
        return { id, values: vectorOf(), account: account(id, { outcome: next() < 0.5 ? "won" : "lost" }) };
      });
      await dense.upsert(records);
      // Every third round goes in densely on both: the two paths store the same thing.
      if (round % 3 === 2) await sparse.upsert(records);
      else
        await sparse.upsertSparse(
          records.map((r) => ({ id: r.id, vector: sparseOf(r.values), account: r.account })),
        );
      for (let q = 0; q < 40; q++) {
        const options = {
          topK: [1, 3, 10, 1000][q % 4] as number,
          ...(q % 5 === 0 ? { filter: { outcome: "won" as const } } : {}),
        };
        const vector = vectorOf();
        expect(await sparse.query(vector, options)).toEqual(await dense.query(vector, options));
      }
    }
    expect(sparse.size).toBe(dense.size);
  });

  it("refuses sparse vectors of another dimension, out of order or out of range, and stores none of them", async () => {
    const index = new MemoryVectorIndex();
    const record = (id: string, dimension: number, indices: number[], values: number[]) => ({
      id,
      vector: { dimension, indices, values },
      account: account(id),
    });
    await index.upsertSparse([record("a", 4, [1, 3], [0.6, 0.8])]);
    await expect(index.upsertSparse([record("b", 5, [1], [1])])).rejects.toThrow(/dimensions/);
    await expect(index.upsertSparse([record("b", 4, [3, 1], [1, 1])])).rejects.toThrow(/ascending/);
    await expect(index.upsertSparse([record("b", 4, [4], [1])])).rejects.toThrow(/within 4 dimensions/);
    await expect(index.upsertSparse([record("b", 4, [1, 2], [1])])).rejects.toThrow(/2 indices and 1 values/);
    expect(index.size).toBe(1);
    const [match] = await index.query([0, 3, 0, 4], { topK: 5 });
    expect(match?.id).toBe("a");
    expect(match?.score).toBeCloseTo(1, 12);
    // The stored account is the one handed over; what a query returns is a copy.
    match!.account.name = "changed";
    expect((await index.query([0, 3, 0, 4], { topK: 1 }))[0]?.account).toEqual(account("a"));
  });
});

// Vectors the random test copies to make ties.
const batch0 = Array.from({ length: 20 }, (_, i) => {
  const v = new Array<number>(64).fill(0);
  v[i] = 1;
  v[(i * 7) % 64] = -0.5;
  return v;
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

  it("indexes a corpus sorted by id and the same corpus shuffled alike, repeats after an ascending run included", async () => {
    const next = random(3);
    const sorted = Array.from({ length: 300 }, (_, i) =>
      account(`acc-${String(i).padStart(3, "0")}`, {
        industry: ["software", "retail", "fintech"][i % 3] as string,
        employees: Math.round(next() * 3000),
        arr: i,
      }),
    );
    const shuffled = [...sorted].sort(() => next() - 0.5);
    const repeated = [...sorted, account("acc-100", { industry: "retail", arr: -1 })];
    const embedder = createProfileEmbedder();
    const [probe] = await embedder.embed(["industry: retail\nsize: 51-200 employees"]);
    const answers = [];
    for (const corpus of [sorted, shuffled, repeated]) {
      const index = new MemoryVectorIndex();
      const result = await indexAccounts(corpus, embedder, index, { batchSize: 64 });
      expect(result.upserted).toBe(300);
      expect(index.size).toBe(300);
      answers.push(await index.query(probe!, { topK: 300 }));
    }
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[2]?.find((m) => m.id === "acc-100")?.account.arr).toBe(-1);
    expect(answers[2]?.filter((m) => m.id !== "acc-100")).toEqual(
      answers[0]?.filter((m) => m.id !== "acc-100"),
    );
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
