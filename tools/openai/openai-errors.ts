import {
  classifyHttpStatus,
  type ErrorClassification,
  type PolicyOverrides,
  parseRetryAfter,
  VendorCaller,
  type VendorPolicy,
  vendorPolicy,
} from "../resilience.ts";

/** Reads a header from either a fetch `Headers` or a plain record (the SDK has used both). */
function header(headers: unknown, name: string): string | undefined {
  if (headers === null || typeof headers !== "object") return undefined;
  if (typeof (headers as Headers).get === "function") return (headers as Headers).get(name) ?? undefined;
  const value = (headers as Record<string, unknown>)[name];
  return typeof value === "string" ? value : undefined;
}

/**
 * Classifies what the `openai` SDK (as wrapped by `@langchain/openai`) throws. Duck-typed on
 * `status` / `headers` / `name` so this module does not import `openai`, which is only a
 * transitive dependency.
 */
export function classifyOpenAiError(err: unknown): ErrorClassification {
  if (err === null || typeof err !== "object") return classifyHttpStatus(undefined);
  const e = err as { name?: unknown; status?: unknown; headers?: unknown; code?: unknown; error?: unknown };
  // @langchain/openai rewraps APIConnectionTimeoutError as a plain Error named TimeoutError.
  if (
    e.name === "TimeoutError" ||
    e.name === "APIConnectionTimeoutError" ||
    e.constructor?.name === "APIConnectionTimeoutError"
  )
    return { retryable: true, tripsCircuit: true, code: "timeout" };
  if (typeof e.status !== "number") return classifyHttpStatus(undefined);
  // OpenAI sends the precise `retry-after-ms` next to the whole-second `retry-after`.
  const ms = Number(header(e.headers, "retry-after-ms"));
  const retryAfterMs =
    Number.isFinite(ms) && ms >= 0 ? ms : parseRetryAfter(header(e.headers, "retry-after"));
  const code = typeof e.code === "string" ? e.code : (e.error as { code?: unknown } | undefined)?.code;
  // An exhausted quota answers 429 too, but waiting does not refill it: every call will fail until billing is fixed.
  if (e.status === 429 && code === "insufficient_quota")
    return { retryable: false, tripsCircuit: true, code: "rate_limited", status: 429 };
  return classifyHttpStatus(e.status, retryAfterMs);
}

/** The resilience policy for OpenAI calls; share one caller between the LLM and the embedder so they share a circuit. */
export function openAiPolicy(overrides: PolicyOverrides = {}): VendorPolicy {
  return vendorPolicy("openai", classifyOpenAiError, overrides);
}

export function createOpenAiCaller(overrides: PolicyOverrides = {}): VendorCaller {
  return new VendorCaller(openAiPolicy(overrides));
}
