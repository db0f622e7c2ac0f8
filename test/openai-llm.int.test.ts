import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { NoLlm } from "../tools/embedded/no-llm.ts";
import { openAiPolicy } from "../tools/openai/openai-errors.ts";
import { LlmOutputError, OpenAiLlm } from "../tools/openai/openai-llm.ts";
import { VendorCaller, VendorError, type VendorPolicy } from "../tools/resilience.ts";
import { type Brain, type OpenAiFake, rateLimited, startOpenAiFake } from "./fakes/openai-fake.ts";

const API_KEY = "sk-test-123";
const RUBRIC = "You are a B2B sales qualification analyst. Propose an adjustment.";
const DATA = '<lead_data>\n{"lead.title":"VP Engineering","enrichment.industry":"software"}\n</lead_data>';

const assessment = {
  adjustment: 6,
  reasons: [
    { text: "Senior buyer", evidence: [{ field: "lead.title", value: "VP Engineering" }] },
    { text: "ICP industry", evidence: [{ field: "enrichment.industry", value: "software" }] },
  ],
};

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

function llm(options: { caller?: VendorCaller; structuredOutput?: "jsonSchema" | "functionCalling" } = {}) {
  return new OpenAiLlm({
    apiKey: API_KEY,
    baseURL: fake.baseURL,
    timeoutMs: 2_000,
    caller: options.caller ?? caller(),
    ...(options.structuredOutput ? { structuredOutput: options.structuredOutput } : {}),
  });
}

beforeEach(async () => {
  fake = await startOpenAiFake({ apiKey: API_KEY });
});

afterEach(async () => {
  for (const c of callers.splice(0)) c.shutdown();
  await fake.close();
});

describe("OpenAiLlm (against a loopback OpenAI fake)", () => {
  it("assesses a lead with json_schema structured output and reports usage", async () => {
    fake.brain = () => assessment;
    const result = await llm().assessLead({ system: RUBRIC, data: DATA });

    expect(result.adjustment).toBe(6);
    expect(result.reasons).toEqual(assessment.reasons);
    expect(result.usage).toMatchObject({ purpose: "score", model: "gpt-4o-mini" });
    expect(result.usage?.promptTokens).toBeGreaterThan(0);
    expect(result.usage?.completionTokens).toBeGreaterThan(0);
    expect(result.usage?.latencyMs).toBeGreaterThanOrEqual(0);

    const [request] = fake.chatRequests();
    expect(fake.chatRequests()).toHaveLength(1);
    expect(request?.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(request?.body.model).toBe("gpt-4o-mini");
    // Rubric and data travel as separate messages; the data is never folded into the instructions.
    expect(request?.body.messages).toEqual([
      { role: "system", content: RUBRIC },
      { role: "user", content: DATA },
    ]);
    expect(request?.body.response_format).toMatchObject({
      type: "json_schema",
      json_schema: { name: "lead_assessment", strict: true },
    });
  });

  it("summarises a lead and reports its usage as a summary", async () => {
    fake.brain = () => ({
      bullets: [" VP Engineering at a software company ", "Asked for a demo", "EMEA, 480 staff"],
    });
    const result = await llm().summarizeLead({ system: "Summarise for the AE.", data: DATA });

    expect(result.bullets).toEqual([
      "VP Engineering at a software company",
      "Asked for a demo",
      "EMEA, 480 staff",
    ]);
    expect(result.usage).toMatchObject({ purpose: "summary", model: "gpt-4o-mini" });
    expect(fake.chatRequests()[0]?.body.response_format).toMatchObject({
      json_schema: { name: "lead_summary" },
    });
  });

  it("uses a forced function call when configured for functionCalling", async () => {
    fake.brain = () => assessment;
    const result = await llm({ structuredOutput: "functionCalling" }).assessLead({
      system: RUBRIC,
      data: DATA,
    });

    expect(result.adjustment).toBe(6);
    expect(result.usage?.completionTokens).toBeGreaterThan(0);
    const body = fake.chatRequests()[0]?.body;
    expect(body?.response_format).toBeUndefined();
    expect(body?.tools?.[0]?.function.name).toBe("lead_assessment");
    expect(body?.tool_choice).toEqual({ type: "function", function: { name: "lead_assessment" } });
  });

  it("honours Retry-After on a 429 and then succeeds", async () => {
    // With a one-minute backoff, only the server's Retry-After (50 ms) lets this finish within the test timeout.
    const patient = caller({ baseDelayMs: 60_000, maxDelayMs: 60_000, maxRetryAfterMs: 60_000 });
    fake.brain = () => assessment;
    fake.enqueue(rateLimited(0.05));

    const result = await llm({ caller: patient }).assessLead({ system: RUBRIC, data: DATA });

    expect(result.adjustment).toBe(6);
    expect(fake.chatRequests()).toHaveLength(2);
    expect(fake.chatRequests()[0]?.fault).toMatchObject({ status: 429 });
    expect(patient.circuitOpen).toBe(false);
  });

  it("opens the circuit in a 5xx storm, then fails fast without reaching the server", async () => {
    const c = caller();
    const model = llm({ caller: c });
    fake.failAll({ status: 500 });

    const first = await model.assessLead({ system: RUBRIC, data: DATA }).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(VendorError);
    expect(first).toMatchObject({ vendor: "openai", status: 500 });
    expect(c.circuitOpen).toBe(true);

    const seen = fake.requests.length;
    const second = await model.assessLead({ system: RUBRIC, data: DATA }).catch((e: unknown) => e);
    expect(second).toMatchObject({ name: "VendorError", code: "circuit_open" });
    expect(fake.requests.length).toBe(seen);
  });

  it("times out a hung request with a VendorError coded timeout", async () => {
    fake.enqueue({ hang: true });
    // The SDK's own timeout is far away: only the caller's AbortSignal can end this attempt.
    const model = new OpenAiLlm({
      apiKey: API_KEY,
      baseURL: fake.baseURL,
      timeoutMs: 60_000,
      caller: caller({ retries: 0 }),
    });
    const error = await model.assessLead({ system: RUBRIC, data: DATA }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(VendorError);
    expect(error).toMatchObject({ code: "timeout", retryable: true });
    expect(fake.chatRequests()).toHaveLength(1);
    await vi.waitFor(() => expect(fake.requests[0]?.abandoned).toBe(true));
  });

  it("rejects a schema mismatch at once: no retry, circuit untouched", async () => {
    const c = caller();
    fake.brain = () => ({ adjustment: "a lot", reasons: "trust me" });
    const error = await llm({ caller: c })
      .assessLead({ system: RUBRIC, data: DATA })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(LlmOutputError);
    expect((error as LlmOutputError).message).toMatch(/score answer unusable: adjustment: /);
    expect(fake.chatRequests()).toHaveLength(1);
    expect(c.circuitOpen).toBe(false);
  });

  it("rejects an answer that is not JSON at once", async () => {
    fake.brain = () => "Sure! I'd rate this lead +10 because they sound keen.";
    const error = await llm()
      .summarizeLead({ system: "Summarise.", data: DATA })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(LlmOutputError);
    expect(fake.chatRequests()).toHaveLength(1);
  });

  it("rejects a summary outside 3-8 bullets", async () => {
    fake.brain = () => ({ bullets: ["Only one"] });
    await expect(llm().summarizeLead({ system: "Summarise.", data: DATA })).rejects.toBeInstanceOf(
      LlmOutputError,
    );
  });

  it("keeps the token usage of a mismatched function-calling answer", async () => {
    fake.brain = () => ({ adjustment: 3.5, reasons: [] });
    const error = await llm({ structuredOutput: "functionCalling" })
      .assessLead({ system: RUBRIC, data: DATA })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(LlmOutputError);
    expect((error as LlmOutputError).usage?.promptTokens).toBeGreaterThan(0);
    expect(fake.chatRequests()).toHaveLength(1);
  });

  it("does not retry a rejected API key", async () => {
    const model = new OpenAiLlm({
      apiKey: "sk-wrong",
      baseURL: fake.baseURL,
      timeoutMs: 2_000,
      caller: caller(),
    });
    const error = await model.assessLead({ system: RUBRIC, data: DATA }).catch((e: unknown) => e);

    expect(error).toMatchObject({ name: "VendorError", code: "http", status: 401, retryable: false });
    expect(fake.chatRequests()).toHaveLength(1);
  });

  it("lets a scripted brain see the system and user messages apart", async () => {
    const seen: Array<{ role: string; content: string }> = [];
    const brain: Brain = (messages) => {
      seen.push(...messages);
      return { adjustment: 0, reasons: [] };
    };
    fake.brain = brain;
    await llm().assessLead({ system: RUBRIC, data: DATA });

    expect(seen).toEqual([
      { role: "system", content: RUBRIC },
      { role: "user", content: DATA },
    ]);
  });
});

describe("NoLlm", () => {
  it("says it is not configured and refuses to be called", async () => {
    const none = new NoLlm();
    expect(none).toMatchObject({ name: "none", configured: false });
    await expect(none.assessLead()).rejects.toThrow(/No LLM is configured/);
    await expect(none.summarizeLead()).rejects.toThrow(/No LLM is configured/);
  });
});
