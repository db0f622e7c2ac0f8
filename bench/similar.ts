/**
 * Similar accounts, embedded profile, at corpus sizes far past the fixtures: how long the in-process index
 * takes to load (read, validate, embed, index: what the service does at start), how much memory it adds (heap,
 * and RSS before and after a memory-reducing collection) and how long a query takes, for the inverted index
 * and for the brute-force index it replaced, each in its own child process so their memory does not mix.
 * Both answer the same queries; the run fails if any answer differs.
 *
 * The corpus is synthetic and deterministic: fixture-like accounts (industries, sizes, countries) written
 * to a temporary file.
 * Usage: node bench/similar.ts [--accounts 100000] [--queries 2000] [--reference-queries 200]
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadPastAccounts } from "../app/accounts-file.ts";
import { indexAccounts } from "../app/index-accounts.ts";
import { profileText } from "../domain/accounts/profile.ts";
import type { PastAccount } from "../domain/types.ts";
import { BruteForceVectorIndex } from "../test/helpers/brute-force-index.ts";
import { random } from "../test/helpers/random.ts";
import { createProfileEmbedder } from "../tools/embedded/hashing-embedder.ts";
import { MemoryVectorIndex } from "../tools/embedded/memory-index.ts";

const { values } = parseArgs({
  options: {
    accounts: { type: "string", default: "100000" },
    queries: { type: "string", default: "2000" },
    "reference-queries": { type: "string", default: "200" },
    // Internal: run one measurement in this process.
    child: { type: "string" },
    file: { type: "string" },
  },
});

const fixtures = JSON.parse(readFileSync("fixtures/accounts.json", "utf8")) as PastAccount[];

function corpus(count: number): PastAccount[] {
  const next = random(2026);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  return Array.from({ length: count }, (_, i) => {
    const model = pick(fixtures);
    const place = pick(fixtures);
    return {
      id: `acct-${String(i).padStart(7, "0")}`,
      name: `${model.name.split(" ")[0]} ${i}`,
      domain: `company-${i}.example`,
      industry: pick(fixtures).industry,
      employees: Math.max(1, Math.round(model.employees * (0.5 + next()))),
      country: place.country,
      region: place.region,
      outcome: next() < 0.5 ? "won" : "lost",
      arr: Math.round(next() * 400_000),
      note: model.note,
    };
  });
}

/** Lead profiles like those summarize embeds: industry, size, country and region, some unknown. */
function queries(count: number): string[] {
  const next = random(7);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  return Array.from({ length: count }, () => {
    const place = pick(fixtures);
    return profileText({
      ...(next() < 0.85 ? { industry: pick(fixtures).industry } : {}),
      ...(next() < 0.85 ? { employees: pick(fixtures).employees } : {}),
      country: place.country,
      region: place.region,
    });
  });
}

const gc = (globalThis as { gc?: (options?: object) => void }).gc;
function settledMemory(): { rss: number; heap: number } {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed + m.arrayBuffers };
}

/**
 * RSS after a memory-reducing collection (V8's "last resort" one, which also gives back the heap pages the
 * load's garbage took and the young generation it grew): what the process keeps, where plain RSS also counts
 * memory it no longer uses but keeps mapped until V8 shrinks its heap (under memory pressure, or when its
 * memory reducer runs; not within 12 s of idling here). Taken only after loading, so the load starts from the
 * same state as before, and measured from the same baseline.
 */
function reducedRss(): number {
  gc?.({ type: "major", execution: "sync", flavor: "last-resort" });
  return process.memoryUsage().rss;
}

interface ChildResult {
  index: string;
  loadMs: number;
  loadCpuMs: number;
  addedMb: number;
  addedRssMb: number;
  addedRssAfterReducingGcMb: number;
  queryMs: { p50: number; p99: number; mean: number; cpuMean: number };
  queries: number;
  answers: string;
}

async function child(kind: string, file: string, queryCount: number): Promise<ChildResult> {
  const texts = queries(queryCount);
  const embedder = createProfileEmbedder();
  const vectors = await embedder.embed(texts);
  const before = settledMemory();
  const cpu = process.cpuUsage();
  const started = performance.now();
  const index = kind === "inverted" ? new MemoryVectorIndex() : new BruteForceVectorIndex();
  // What app/adapters.ts does at start.
  await indexAccounts(loadPastAccounts(file), embedder, index, { batchSize: 100 });
  // The first query builds the posting lists: part of loading.
  await index.query(vectors[0] as number[], { topK: 3 });
  const loadMs = performance.now() - started;
  const loadCpu = process.cpuUsage(cpu);
  const after = settledMemory();
  const afterReducing = reducedRss();
  const times: number[] = [];
  const hash = createHash("sha256");
  const queryCpu = process.cpuUsage();
  for (const vector of vectors) {
    const t = performance.now();
    const matches = await index.query(vector, { topK: 3 });
    times.push(performance.now() - t);
    hash.update(JSON.stringify(matches.map((m) => [m.id, m.score])));
  }
  const queryCpuUsed = process.cpuUsage(queryCpu);
  times.sort((a, b) => a - b);
  const at = (q: number) =>
    Number((times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0).toFixed(3));
  return {
    index: index.name,
    loadMs: Math.round(loadMs),
    // CPU time: on a busy machine wall time includes waiting for a core.
    loadCpuMs: Math.round((loadCpu.user + loadCpu.system) / 1000),
    addedMb: Math.round((after.heap - before.heap) / 2 ** 20),
    addedRssMb: Math.round((after.rss - before.rss) / 2 ** 20),
    addedRssAfterReducingGcMb: Math.round((afterReducing - before.rss) / 2 ** 20),
    queryMs: {
      p50: at(0.5),
      p99: at(0.99),
      mean: Number((times.reduce((a, b) => a + b, 0) / times.length).toFixed(3)),
      // CPU time per query (mean): what a query costs whatever the machine's load adds to its wall time.
      cpuMean: Number(((queryCpuUsed.user + queryCpuUsed.system) / 1000 / times.length).toFixed(3)),
    },
    queries: times.length,
    answers: hash.digest("hex").slice(0, 16),
  };
}

if (values.child) {
  const result = await child(values.child, String(values.file), Number(values.queries));
  process.stdout.write(JSON.stringify(result));
} else {
  const count = Number(values.accounts);
  const dir = mkdtempSync(join(tmpdir(), "leadgraph-similar-"));
  try {
    const file = join(dir, "accounts.json");
    writeFileSync(file, JSON.stringify(corpus(count)));
    const run = (kind: string, queryCount: number): ChildResult =>
      JSON.parse(
        execFileSync(
          process.execPath,
          [
            "--expose-gc",
            "bench/similar.ts",
            "--child",
            kind,
            "--file",
            file,
            "--queries",
            String(queryCount),
          ],
          { encoding: "utf8", maxBuffer: 1 << 20 },
        ),
      ) as ChildResult;
    const referenceQueries = Math.min(Number(values.queries), Number(values["reference-queries"]));
    const inverted = run("inverted", Number(values.queries));
    const reference = run("brute-force", referenceQueries);
    // The same first `referenceQueries` queries must get the same answers.
    const check = run("inverted", referenceQueries);
    const same = check.answers === reference.answers;
    console.log(
      JSON.stringify({
        bench: "similar-accounts",
        accounts: count,
        inverted: { ...inverted, answers: undefined },
        bruteForce: { ...reference, answers: undefined },
        sameAnswers: same,
        speedup: Number((reference.queryMs.mean / inverted.queryMs.mean).toFixed(1)),
        targets: {
          "query p99 <= 2 ms": inverted.queryMs.p99 <= 2,
          "load <= 1 s": inverted.loadMs <= 1000,
          "adds <= 100 MB": inverted.addedMb <= 100,
          "adds <= 100 MB of RSS, before a memory-reducing GC": inverted.addedRssMb <= 100,
        },
        loadavg1: Number(loadavg()[0]?.toFixed(2)),
        node: process.version,
      }),
    );
    if (!same) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
