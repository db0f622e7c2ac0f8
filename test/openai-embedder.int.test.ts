import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { OpenAiEmbedder } from "../tools/openai/openai-embedder.ts";
import { openAiPolicy } from "../tools/openai/openai-errors.ts";
import { VendorCaller, VendorError, type VendorPolicy } from "../tools/resilience.ts";
import { defaultFakeEmbedding, type OpenAiFake, rateLimited, startOpenAiFake } from "./fakes/openai-fake.ts";

const API_KEY = "sk-test-embed";
let fake: OpenAiFake;
const callers: VendorCaller[] = [];

function caller(overrides: Partial<Omit<VendorPolicy, "classify">> = {}): VendorCaller {
  const c = new VendorCaller(
    openAiPolicy({
      timeoutMs: 2_000,
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

function embedder(
  options: { dimension?: number; batchSize?: number; caller?: VendorCaller; model?: string } = {},
) {
  return new OpenAiEmbedder({
    apiKey: API_KEY,
    baseURL: fake.baseURL,
    timeoutMs: 2_000,
    caller: options.caller ?? caller(),
    ...(options.dimension === undefined ? {} : { dimension: options.dimension }),
    ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
    ...(options.model === undefined ? {} : { model: options.model }),
  });
}

function cosine(a: number[], b: number[]): number {
  return a.reduce((sum, v, i) => sum + v * (b[i] ?? 0), 0);
}

beforeEach(async () => {
  fake = await startOpenAiFake({ apiKey: API_KEY });
});

afterEach(async () => {
  for (const c of callers.splice(0)) c.shutdown();
  await fake.close();
});

describe("OpenAiEmbedder (against a loopback OpenAI fake)", () => {
  it("embeds in batches, in order, at the requested dimension", async () => {
    const texts = Array.from({ length: 5 }, (_, i) => `industry: software\ncountry: C${i}`);
    const e = embedder({ dimension: 256, batchSize: 2 });
    const vectors = await e.embed(texts);

    expect(e).toMatchObject({ name: "openai", dimension: 256, model: "text-embedding-3-small" });
    expect(vectors).toHaveLength(5);
    // The SDK asks for base64 and decodes it to float32, hence closeTo rather than equality.
    vectors.forEach((v, i) => {
      const expected = defaultFakeEmbedding(texts[i]!.replace(/\n/g, " "), 256);
      expect(v).toHaveLength(256);
      expect(cosine(v, expected)).toBeCloseTo(1, 5);
    });

    const requests = fake.embeddingRequests();
    expect(requests.map((r) => (r.body as { input: string[] }).input.length)).toEqual([2, 2, 1]);
    expect(requests[0]?.body).toMatchObject({ model: "text-embedding-3-small", dimensions: 256 });
    expect(requests[0]?.headers.authorization).toBe(`Bearer ${API_KEY}`);
  });

  it("uses the model's native size without sending dimensions", async () => {
    const e = embedder();
    const [v] = await e.embed(["hello world"]);

    expect(e.dimension).toBe(1536);
    expect(v).toHaveLength(1536);
    expect(fake.embeddingRequests()[0]?.body).not.toHaveProperty("dimensions");
  });

  it("sends no request for no texts and survives an empty text", async () => {
    const e = embedder({ dimension: 64 });
    expect(await e.embed([])).toEqual([]);
    expect(fake.embeddingRequests()).toHaveLength(0);

    const vectors = await e.embed(["", "industry: software"]);
    expect(vectors).toHaveLength(2);
  });

  it("honours Retry-After on a 429 and then succeeds", async () => {
    const patient = caller({ baseDelayMs: 60_000, maxDelayMs: 60_000, maxRetryAfterMs: 60_000 });
    fake.enqueue(rateLimited(0.05));

    const vectors = await embedder({ dimension: 32, caller: patient }).embed(["a", "b"]);

    expect(vectors).toHaveLength(2);
    expect(fake.embeddingRequests()).toHaveLength(2);
  });

  it("opens the circuit in a 5xx storm, then fails fast", async () => {
    const c = caller();
    const e = embedder({ dimension: 32, caller: c });
    fake.failAll({ status: 503 });

    await expect(e.embed(["a"])).rejects.toMatchObject({ name: "VendorError", status: 503 });
    expect(c.circuitOpen).toBe(true);
    const seen = fake.requests.length;
    await expect(e.embed(["a"])).rejects.toMatchObject({ code: "circuit_open" });
    expect(fake.requests.length).toBe(seen);
  });

  it("aborts a hung request when the attempt times out", async () => {
    fake.enqueue({ hang: true });
    // The SDK's own timeout is far away: only the caller's AbortSignal can end this attempt.
    const e = new OpenAiEmbedder({
      apiKey: API_KEY,
      baseURL: fake.baseURL,
      dimension: 32,
      timeoutMs: 60_000,
      caller: caller({ retries: 0 }),
    });
    const error = await e.embed(["a"]).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(VendorError);
    expect(error).toMatchObject({ code: "timeout" });
    await vi.waitFor(() => expect(fake.requests[0]?.abandoned).toBe(true));
  });

  it("fails without retrying when the model cannot shorten its vectors", async () => {
    const error = await embedder({ model: "text-embedding-ada-002", dimension: 256 })
      .embed(["a"])
      .catch((e: unknown) => e);

    expect(error).toMatchObject({ name: "VendorError", status: 400, retryable: false });
    expect(fake.embeddingRequests()).toHaveLength(1);
  });
});
