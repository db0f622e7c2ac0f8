import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { indexAccounts } from "../app/index-accounts.ts";
import type { PastAccount } from "../domain/types.ts";
import { HashingEmbedder } from "../tools/embedded/hashing-embedder.ts";
import { PineconeIndex, pineconePolicy, toPineconeFilter } from "../tools/pinecone/pinecone-index.ts";
import { VendorCaller, VendorError, type VendorPolicy } from "../tools/resilience.ts";
import { type PineconeFake, startPineconeFake } from "./fakes/pinecone-fake.ts";

const API_KEY = "pc-test-key";
let fake: PineconeFake;
const callers: VendorCaller[] = [];
let testNumber = 0;

function caller(overrides: Partial<Omit<VendorPolicy, "classify">> = {}): VendorCaller {
  const c = new VendorCaller(
    pineconePolicy({
      timeoutMs: 300,
      retries: 2,
      baseDelayMs: 10,
      maxDelayMs: 20,
      maxRetryAfterMs: 1_000,
      breaker: { volumeThreshold: 3, errorThresholdPercentage: 50, resetTimeoutMs: 60_000 },
      ...overrides,
    }),
  );
  callers.push(c);
  return c;
}

function pinecone(
  options: { caller?: VendorCaller; host?: string | null; namespace?: string } = {},
): PineconeIndex {
  return new PineconeIndex({
    apiKey: API_KEY,
    index: fake.indexName,
    // null: leave the host out so the client looks it up through the control plane.
    ...(options.host === null ? {} : { host: options.host ?? fake.host }),
    controllerHostUrl: fake.url,
    caller: options.caller ?? caller(),
    ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
  });
}

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
    note: "Won on routing accuracy",
    ...overrides,
  };
}

beforeEach(async () => {
  // The SDK caches index hosts per process by (api key, index name): a fresh name per test
  // keeps one test's fake port from leaking into the next.
  testNumber++;
  fake = await startPineconeFake({ apiKey: API_KEY, indexName: `accounts-${testNumber}` });
});

afterEach(async () => {
  for (const c of callers.splice(0)) c.shutdown();
  await fake.close();
});

describe("PineconeIndex (against a loopback Pinecone fake)", () => {
  it("upserts in batches of 100 with flat metadata and queries back accounts", async () => {
    const index = pinecone();
    const accounts = Array.from({ length: 250 }, (_, i) => account(`acc-${i}`));
    await index.upsert(accounts.map((a, i) => ({ id: a.id, values: [1, i / 250, 0], account: a })));

    const upserts = fake.dataRequests().filter((r) => r.path === "/vectors/upsert");
    expect(upserts.map((r) => (r.body as { vectors: unknown[] }).vectors.length)).toEqual([100, 100, 50]);
    expect(upserts[0]?.headers["api-key"]).toBe(API_KEY);
    expect(upserts[0]?.headers["x-pinecone-api-version"]).toBeDefined();
    expect(fake.vectors().get("acc-7")?.metadata).toEqual(account("acc-7"));

    const matches = await index.query([1, 0, 0], { topK: 3 });
    expect(matches.map((m) => m.id)).toEqual(["acc-0", "acc-1", "acc-2"]);
    expect(matches[0]?.score).toBeCloseTo(1, 10);
    expect(matches[0]?.account).toEqual(account("acc-0"));

    const query = fake.requests.find((r) => r.path === "/query");
    expect(query?.body).toMatchObject({
      topK: 3,
      includeMetadata: true,
      includeValues: false,
      vector: [1, 0, 0],
    });
  });

  it("turns account filters into $eq metadata filters", async () => {
    const index = pinecone();
    await index.upsert([
      { id: "emea-won", values: [1, 0], account: account("emea-won") },
      { id: "emea-lost", values: [1, 0.1], account: account("emea-lost", { outcome: "lost" }) },
      { id: "na-won", values: [1, 0.2], account: account("na-won", { region: "NA", country: "US" }) },
    ]);

    const matches = await index.query([1, 0], { topK: 10, filter: { region: "EMEA", outcome: "won" } });
    expect(matches.map((m) => m.id)).toEqual(["emea-won"]);
    const sent = fake.requests.filter((r) => r.path === "/query").at(-1)?.body as { filter?: unknown };
    expect(sent.filter).toEqual({ region: { $eq: "EMEA" }, outcome: { $eq: "won" } });

    await index.query([1, 0], { topK: 10, filter: {} });
    const unfiltered = fake.requests.filter((r) => r.path === "/query").at(-1)?.body as { filter?: unknown };
    expect(unfiltered.filter).toBeUndefined();
    expect(toPineconeFilter({ country: "US" })).toEqual({ country: { $eq: "US" } });
  });

  it("looks the data-plane host up once when only the index name is given", async () => {
    const index = pinecone({ host: null });
    await index.upsert([{ id: "a", values: [1, 0], account: account("a") }]);
    await index.query([1, 0], { topK: 1 });

    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `GET /indexes/${fake.indexName}`,
      "POST /vectors/upsert",
      "POST /query",
    ]);
  });

  it("writes to the configured namespace", async () => {
    const index = pinecone({ namespace: "accounts-v2" });
    await index.upsert([{ id: "a", values: [1, 0], account: account("a") }]);

    expect(fake.vectors("accounts-v2").size).toBe(1);
    expect(fake.vectors().size).toBe(0);
    expect(await index.query([1, 0], { topK: 1 })).toHaveLength(1);
  });

  it("re-indexing the same accounts changes nothing", async () => {
    const index = pinecone();
    const embedder = new HashingEmbedder({ dimension: 64 });
    const accounts = Array.from({ length: 120 }, (_, i) =>
      account(`acc-${i}`, { employees: 10 + i * 50, industry: i % 2 ? "software" : "retail" }),
    );

    const first = await indexAccounts(accounts, embedder, index, { batchSize: 100 });
    const snapshot = structuredClone([...fake.vectors().entries()]);
    const [probe] = await embedder.embed(["industry: software"]);
    const before = await index.query(probe!, { topK: 5 });

    const second = await indexAccounts(accounts, embedder, index, { batchSize: 100 });
    expect(second).toEqual(first);
    expect(first).toEqual({ accounts: 120, upserted: 120, batches: 2 });
    expect([...fake.vectors().entries()]).toEqual(snapshot);
    expect(await index.query(probe!, { topK: 5 })).toEqual(before);
  });

  it("skips matches whose metadata is not an account", async () => {
    const index = pinecone();
    await index.upsert([{ id: "good", values: [1, 0], account: account("good") }]);
    fake
      .vectors()
      .set("foreign", { id: "foreign", values: [1, 0], metadata: { title: "written by another tool" } });

    const matches = await index.query([1, 0], { topK: 5 });
    expect(matches.map((m) => m.id)).toEqual(["good"]);
  });

  it("honours Retry-After on a 429 and then succeeds", async () => {
    const patient = caller({ baseDelayMs: 60_000, maxDelayMs: 60_000, maxRetryAfterMs: 60_000 });
    const index = pinecone({ caller: patient });
    fake.enqueue({ status: 429, headers: { "retry-after": "0.05" } });

    await index.upsert([{ id: "a", values: [1, 0], account: account("a") }]);

    expect(fake.dataRequests().map((r) => (r.fault && "status" in r.fault ? r.fault.status : 200))).toEqual([
      429, 200,
    ]);
    expect(fake.vectors().size).toBe(1);
    expect(patient.circuitOpen).toBe(false);
  });

  it("opens the circuit in a 5xx storm, then fails fast without reaching the server", async () => {
    const c = caller();
    const index = pinecone({ caller: c });
    fake.failAll({ status: 503 });

    const first = await index.query([1, 0], { topK: 1 }).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(VendorError);
    expect(first).toMatchObject({ vendor: "pinecone", code: "http", status: 503 });
    expect(c.circuitOpen).toBe(true);

    const seen = fake.requests.length;
    await expect(index.query([1, 0], { topK: 1 })).rejects.toMatchObject({ code: "circuit_open" });
    expect(fake.requests.length).toBe(seen);
  });

  it("does not retry a request Pinecone rejects as invalid", async () => {
    const index = pinecone();
    await index.upsert([{ id: "a", values: [1, 0], account: account("a") }]);
    const error = await index
      .upsert([{ id: "b", values: [1, 0, 0], account: account("b") }])
      .catch((e: unknown) => e);

    expect(error).toMatchObject({ name: "VendorError", status: 400, retryable: false });
    expect(fake.dataRequests()).toHaveLength(2);
  });

  it("times out a hung request and aborts it", async () => {
    fake.enqueue({ hang: true });
    const error = await pinecone({ caller: caller({ retries: 0 }) })
      .query([1, 0], { topK: 1 })
      .catch((e: unknown) => e);

    expect(error).toMatchObject({ name: "VendorError", code: "timeout" });
    await vi.waitFor(() => expect(fake.requests[0]?.abandoned).toBe(true));
  });

  it("does not retry a rejected API key", async () => {
    const index = new PineconeIndex({
      apiKey: "wrong",
      index: fake.indexName,
      host: fake.host,
      caller: caller(),
    });
    const error = await index.query([1, 0], { topK: 1 }).catch((e: unknown) => e);

    expect(error).toMatchObject({ name: "VendorError", status: 401, retryable: false });
    expect(fake.requests).toHaveLength(1);
  });
});
