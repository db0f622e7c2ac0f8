import { type BaseMessage, HumanMessage, isAIMessage, SystemMessage } from "@langchain/core/messages";
import { ChatOpenAI } from "@langchain/openai";
import { z } from "zod";
import type { LlmAssessment, LlmUsage } from "../../domain/types.ts";
import type { Llm, LlmSummary } from "../ports.ts";
import { defaultPolicy, type VendorCaller } from "../resilience.ts";
import { createOpenAiCaller } from "./openai-errors.ts";

export const assessmentSchema = z.object({
  adjustment: z.number().int().min(-100).max(100).describe("Proposed change to the rule score, in points"),
  reasons: z.array(
    z.object({
      text: z.string().describe("One short reason"),
      evidence: z
        .array(
          z.object({
            field: z.string().describe("Dotted field name exactly as in the data, e.g. enrichment.industry"),
            value: z
              .union([z.string(), z.number(), z.boolean()])
              .describe("The field's value exactly as in the data"),
          }),
        )
        .describe("The fields and values this reason rests on"),
    }),
  ),
});

export const summarySchema = z.object({
  bullets: z.array(z.string()).min(3).max(8).describe("3 to 8 short bullets for the account executive"),
});

/** The model answered, but not in the agreed shape (schema mismatch, invalid JSON, refusal, truncation). */
export class LlmOutputError extends Error {
  override readonly name = "LlmOutputError";
  readonly code = "invalid_output";
  /** Tokens were spent even though the answer is unusable; set when the SDK let us see the raw reply. */
  readonly usage: LlmUsage | undefined;

  constructor(message: string, options: { usage?: LlmUsage; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.usage = options.usage;
  }
}

export interface OpenAiLlmOptions {
  apiKey: string;
  /** Any OpenAI-compatible endpoint, e.g. `http://localhost:11434/v1`. */
  baseURL?: string;
  /** Default "gpt-4o-mini". */
  model?: string;
  /** Per attempt (default 10 s); the SDK's own timeout, next to the caller's AbortSignal. */
  timeoutMs?: number;
  /** Shared with the embedder so both see one circuit; built from `timeoutMs` when absent. */
  caller?: VendorCaller;
  /** "jsonSchema" (default) needs Structured Outputs; "functionCalling" suits compatible servers without it. */
  structuredOutput?: "jsonSchema" | "functionCalling";
  temperature?: number;
}

// Errors the SDK or LangChain raise on a well-formed HTTP exchange whose answer is unusable.
const OUTPUT_ERROR_NAMES = new Set([
  "$ZodError",
  "ZodError",
  "SyntaxError",
  "LengthFinishReasonError",
  "ContentFilterFinishReasonError",
  "OutputParserException",
]);

type Raw = { raw: BaseMessage; parsed: unknown };
type Attempt = { ok: true; value: Raw } | { ok: false; error: unknown };

export class OpenAiLlm implements Llm {
  readonly name = "openai";
  readonly configured = true;
  readonly model: string;
  readonly #caller: VendorCaller;
  readonly #assess: { invoke(input: unknown, options: { signal: AbortSignal }): Promise<Raw> };
  readonly #summarize: { invoke(input: unknown, options: { signal: AbortSignal }): Promise<Raw> };

  constructor(options: OpenAiLlmOptions) {
    this.model = options.model ?? "gpt-4o-mini";
    const timeoutMs = options.timeoutMs ?? options.caller?.policy.timeoutMs ?? defaultPolicy.timeoutMs;
    this.#caller = options.caller ?? createOpenAiCaller({ timeoutMs });
    const chat = new ChatOpenAI({
      model: this.model,
      apiKey: options.apiKey,
      ...(options.baseURL === undefined ? {} : { configuration: { baseURL: options.baseURL } }),
      ...(options.temperature === undefined ? {} : { temperature: options.temperature }),
      timeout: timeoutMs,
      // The VendorCaller owns retries; LangChain's default (6 with backoff) would also retry a schema mismatch for about a minute.
      maxRetries: 0,
    });
    const method = options.structuredOutput ?? "jsonSchema";
    this.#assess = chat.withStructuredOutput(assessmentSchema, {
      name: "lead_assessment",
      method,
      includeRaw: true,
    });
    this.#summarize = chat.withStructuredOutput(summarySchema, {
      name: "lead_summary",
      method,
      includeRaw: true,
    });
  }

  async assessLead(input: { system: string; data: string }): Promise<LlmAssessment> {
    const { parsed, usage } = await this.#run("score", this.#assess, input, assessmentSchema);
    return {
      adjustment: parsed.adjustment,
      reasons: parsed.reasons.map((r) => ({ text: r.text.trim(), evidence: r.evidence })),
      usage,
    };
  }

  async summarizeLead(input: { system: string; data: string }): Promise<LlmSummary> {
    const { parsed, usage } = await this.#run("summary", this.#summarize, input, summarySchema);
    return { bullets: parsed.bullets.map((b) => b.trim()), usage };
  }

  async #run<T>(
    purpose: LlmUsage["purpose"],
    runnable: { invoke(input: unknown, options: { signal: AbortSignal }): Promise<Raw> },
    input: { system: string; data: string },
    schema: z.ZodType<T>,
  ): Promise<{ parsed: T; usage: LlmUsage }> {
    // Rubric and lead stay in separate messages so the data can never pose as part of the instructions.
    const messages = [new SystemMessage(input.system), new HumanMessage(input.data)];
    const started = performance.now();
    // An unusable answer comes back as a value: the vendor did its job, so it must neither be retried nor trip the circuit.
    const attempt: Attempt = await this.#caller.call(`chat ${purpose}`, async (signal) => {
      try {
        return { ok: true, value: await runnable.invoke(messages, { signal }) };
      } catch (err) {
        if (!signal.aborted && isOutputError(err)) return { ok: false, error: err };
        throw err;
      }
    });
    const latencyMs = Math.round(performance.now() - started);
    if (!attempt.ok)
      throw new LlmOutputError(`openai: ${purpose} answer unusable: ${explain(attempt.error)}`, {
        cause: attempt.error,
      });
    const usage = this.#usage(purpose, attempt.value.raw, latencyMs);
    const result = schema.safeParse(attempt.value.parsed);
    // Also where a refusal lands: LangChain's Chat Completions converter drops the refusal text, leaving no answer.
    if (!result.success)
      throw new LlmOutputError(
        `openai: ${purpose} answer does not match the schema: ${explain(result.error)}`,
        {
          usage,
          cause: result.error,
        },
      );
    return { parsed: result.data, usage };
  }

  #usage(purpose: LlmUsage["purpose"], raw: BaseMessage, latencyMs: number): LlmUsage {
    const tokens = isAIMessage(raw) ? raw.usage_metadata : undefined;
    return {
      purpose,
      // The configured name, not the dated snapshot the API echoes, keeps metric labels stable.
      model: this.model,
      promptTokens: tokens?.input_tokens ?? 0,
      completionTokens: tokens?.output_tokens ?? 0,
      latencyMs,
    };
  }
}

function isOutputError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return OUTPUT_ERROR_NAMES.has(err.name) || OUTPUT_ERROR_NAMES.has(err.constructor.name);
}

function explain(err: unknown): string {
  // A ZodError's message is a multi-line JSON dump; its issues read better on one line.
  const issues = (err as { issues?: unknown } | undefined)?.issues;
  if (Array.isArray(issues))
    return firstLine(
      issues
        .map(
          (i: { path?: unknown[]; message?: string }) =>
            `${(i.path ?? []).join(".") || "(root)"}: ${i.message}`,
        )
        .join("; "),
    );
  return firstLine(err instanceof Error ? err.message : String(err));
}

function firstLine(text: string): string {
  const line = text.split("\n", 1)[0] ?? "";
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
