/**
 * A loopback fake of the OpenAI REST API (the parts LeadGraph uses), so tests run the real
 * `openai` / `@langchain/openai` code. Shapes follow https://platform.openai.com/docs/api-reference:
 * `POST /v1/chat/completions` (plain, `response_format: {type: "json_schema"}`, and `tools` +
 * `tool_choice` function calling) and `POST /v1/embeddings` (float or base64).
 */
import { randomUUID } from "node:crypto";
import {
  type FakeServer,
  type Fault,
  type RecordedRequest,
  type Reply,
  startFakeServer,
} from "./http-fake.ts";

export type { Fault, RecordedRequest };

export interface ChatMessage {
  role: "system" | "developer" | "user" | "assistant" | "tool";
  content: string | null | Array<{ type: string; text?: string }>;
  tool_calls?: unknown[];
  name?: string;
}

export interface ChatTool {
  type: "function";
  function: { name: string; description?: string; parameters?: JsonSchema; strict?: boolean };
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  response_format?:
    | { type: "text" }
    | { type: "json_object" }
    | {
        type: "json_schema";
        json_schema: { name: string; description?: string; schema?: JsonSchema; strict?: boolean };
      };
  tools?: ChatTool[];
  tool_choice?: "none" | "auto" | "required" | { type: "function"; function: { name: string } };
  [key: string]: unknown;
}

export type JsonSchema = Record<string, unknown>;

/** What the model sees: each message's role and its text. */
export interface BrainMessage {
  role: ChatMessage["role"];
  content: string;
}

/**
 * The "model": gets the conversation and returns its answer. A string is sent verbatim (so a test
 * can return broken JSON); anything else is JSON-encoded as the structured answer (message content
 * for json_schema, tool-call arguments for function calling).
 */
export type Brain = (messages: BrainMessage[], request: ChatRequest) => unknown;

export type FakeEmbedding = (text: string, dimensions: number) => number[];

export interface OpenAiFakeOptions {
  /** When set, requests must carry `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  brain?: Brain;
  embed?: FakeEmbedding;
}

export interface OpenAiFake extends Omit<FakeServer, "url"> {
  /** Server root. */
  url: string;
  /** What to pass as the SDK's `baseURL` (ends in `/v1`). */
  baseURL: string;
  brain: Brain;
  chatRequests(): Array<RecordedRequest & { body: ChatRequest }>;
  embeddingRequests(): RecordedRequest[];
}

const NATIVE_DIMENSIONS: Record<string, number> = {
  "text-embedding-3-small": 1536,
  "text-embedding-3-large": 3072,
  "text-embedding-ada-002": 1536,
};

/** Answers every schema with an empty-but-valid shape: a neutral assessment or three bullets. */
export const defaultBrain: Brain = (_messages, request) => {
  const name = schemaName(request) ?? "";
  if (name.includes("summary")) return { bullets: ["First point.", "Second point.", "Third point."] };
  if (name.includes("assessment")) return { adjustment: 0, reasons: [] };
  return "OK";
};

export async function startOpenAiFake(options: OpenAiFakeOptions = {}): Promise<OpenAiFake> {
  const embed = options.embed ?? defaultFakeEmbedding;
  const fake = {} as OpenAiFake;
  fake.brain = options.brain ?? defaultBrain;

  const server = await startFakeServer(async (req) => {
    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`)
      return openAiError(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key");
    if (req.method === "POST" && req.path === "/v1/chat/completions") return chat(req.body, fake.brain);
    if (req.method === "POST" && req.path === "/v1/embeddings") return embeddings(req.body, embed);
    return openAiError(404, `Invalid URL (${req.method} ${req.path})`, "invalid_request_error", null);
  }, defaultErrorBody);

  return Object.assign(fake, server, {
    baseURL: `${server.url}/v1`,
    chatRequests: () =>
      server.requests.filter((r) => r.path === "/v1/chat/completions") as Array<
        RecordedRequest & { body: ChatRequest }
      >,
    embeddingRequests: () => server.requests.filter((r) => r.path === "/v1/embeddings"),
  });
}

async function chat(body: unknown, brain: Brain): Promise<Reply> {
  const request = body as ChatRequest;
  if (typeof request?.model !== "string") return invalid("you must provide a model parameter", "model");
  if (!Array.isArray(request.messages) || request.messages.length === 0)
    return invalid("'messages' must contain at least one message", "messages");

  const format = request.response_format;
  if (format?.type === "json_schema") {
    if (!format.json_schema?.name || !format.json_schema.schema)
      return invalid(
        "Missing required parameter: 'response_format.json_schema.name' or 'schema'.",
        "response_format",
      );
    if (format.json_schema.strict) {
      const problem = strictSchemaProblem(format.json_schema.schema, "");
      if (problem)
        return invalid(
          `Invalid schema for response_format '${format.json_schema.name}': ${problem}`,
          "response_format",
        );
    }
  }
  const forced = forcedTool(request);
  if (forced === null) return invalid("tool_choice names a function that is not in tools", "tool_choice");
  for (const tool of request.tools ?? [])
    if (tool.function.strict && tool.function.parameters) {
      const problem = strictSchemaProblem(tool.function.parameters, "");
      if (problem) return invalid(`Invalid schema for function '${tool.function.name}': ${problem}`, "tools");
    }

  const messages: BrainMessage[] = request.messages.map((m) => ({
    role: m.role,
    content: textOf(m.content),
  }));
  const answer = await brain(messages, request);
  const text = typeof answer === "string" ? answer : JSON.stringify(answer);

  const message: Record<string, unknown> = {
    role: "assistant",
    content: text,
    refusal: null,
    annotations: [],
  };
  let finishReason = "stop";
  if (forced !== undefined) {
    message.content = null;
    message.tool_calls = [
      {
        id: `call_${randomUUID().replaceAll("-", "").slice(0, 24)}`,
        type: "function",
        function: { name: forced, arguments: text },
      },
    ];
    // OpenAI reports "stop" when tool_choice forced the call, "tool_calls" when the model chose to.
    finishReason = typeof request.tool_choice === "object" ? "stop" : "tool_calls";
  }

  const promptTokens =
    request.messages.reduce((n, m) => n + 4 + tokens(textOf(m.content)), 3) +
    tokens(JSON.stringify(request.tools ?? request.response_format ?? ""));
  const completionTokens = tokens(text);
  return {
    status: 200,
    headers: requestHeaders(),
    body: {
      id: `chatcmpl-${randomUUID()}`,
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: `${request.model}-2024-07-18`,
      choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason }],
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
        completion_tokens_details: {
          reasoning_tokens: 0,
          audio_tokens: 0,
          accepted_prediction_tokens: 0,
          rejected_prediction_tokens: 0,
        },
      },
      service_tier: "default",
      system_fingerprint: "fp_fake",
    },
  };
}

function embeddings(body: unknown, embed: FakeEmbedding): Reply {
  const request = body as {
    input?: unknown;
    model?: unknown;
    dimensions?: unknown;
    encoding_format?: unknown;
  };
  if (typeof request?.model !== "string") return invalid("you must provide a model parameter", "model");
  const inputs = typeof request.input === "string" ? [request.input] : request.input;
  if (!Array.isArray(inputs) || inputs.length === 0 || inputs.length > 2048)
    return invalid(
      "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
      "input",
    );
  if (inputs.some((t) => typeof t !== "string" || t === ""))
    return invalid(
      "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
      "input",
    );
  const native = NATIVE_DIMENSIONS[request.model] ?? 1536;
  let dimensions = native;
  if (request.dimensions !== undefined) {
    if (!request.model.startsWith("text-embedding-3"))
      return invalid("This model does not support specifying dimensions.", "dimensions");
    if (typeof request.dimensions !== "number" || request.dimensions < 1 || request.dimensions > native)
      return invalid(`Invalid value for 'dimensions' = ${String(request.dimensions)}.`, "dimensions");
    dimensions = request.dimensions;
  }
  const base64 = request.encoding_format === "base64";
  const texts = inputs as string[];
  return {
    status: 200,
    headers: requestHeaders(),
    body: {
      object: "list",
      data: texts.map((text, index) => {
        const vector = embed(text, dimensions);
        return {
          object: "embedding",
          index,
          embedding: base64 ? Buffer.from(new Float32Array(vector).buffer).toString("base64") : vector,
        };
      }),
      model: request.model,
      usage: {
        prompt_tokens: texts.reduce((n, t) => n + tokens(t), 0),
        total_tokens: texts.reduce((n, t) => n + tokens(t), 0),
      },
    },
  };
}

/**
 * Bag-of-words feature hashing, normalised: deterministic, and texts sharing words get a higher
 * cosine, which is all a similarity test needs from a fake embedding model.
 */
export function defaultFakeEmbedding(text: string, dimensions: number): number[] {
  const vector = new Array<number>(dimensions).fill(0);
  for (const word of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
    let h = 0x811c9dc5;
    for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 0x01000193);
    h >>>= 0;
    vector[h % dimensions]! += h & 0x80000000 ? -1 : 1;
  }
  const norm = Math.sqrt(vector.reduce((s, v) => s + v * v, 0));
  // A real model never returns the zero vector.
  if (norm === 0) vector[0] = 1;
  return norm === 0 ? vector : vector.map((v) => v / norm);
}

/** The function the request forces, undefined when it forces none, null when it forces an unknown one. */
function forcedTool(request: ChatRequest): string | undefined | null {
  const tools = request.tools ?? [];
  if (tools.length === 0 || request.tool_choice === "none") return undefined;
  const choice = request.tool_choice;
  if (typeof choice === "object")
    return tools.some((t) => t.function.name === choice.function.name) ? choice.function.name : null;
  // "required" or "auto": this fake always calls the first tool.
  return tools[0]!.function.name;
}

function schemaName(request: ChatRequest): string | undefined {
  if (request.response_format?.type === "json_schema") return request.response_format.json_schema.name;
  const choice = request.tool_choice;
  if (typeof choice === "object") return choice.function.name;
  return request.tools?.[0]?.function.name;
}

/**
 * The Structured Outputs rules most often broken by generated schemas: every object closes with
 * `additionalProperties: false` and lists every property as required.
 */
function strictSchemaProblem(schema: unknown, at: string): string | undefined {
  if (schema === null || typeof schema !== "object") return undefined;
  const s = schema as Record<string, unknown>;
  if (s.type === "object" || s.properties !== undefined) {
    if (s.additionalProperties !== false)
      return `In context=(${at}), 'additionalProperties' is required to be supplied and to be false.`;
    const props = Object.keys((s.properties as Record<string, unknown>) ?? {});
    const required = Array.isArray(s.required) ? (s.required as string[]) : [];
    const missing = props.filter((p) => !required.includes(p));
    if (missing.length > 0)
      return `In context=(${at}), 'required' is required to be supplied and to be an array including every key in properties. Missing '${missing[0]}'.`;
  }
  for (const [key, value] of Object.entries(s)) {
    if (key === "properties" && value && typeof value === "object") {
      for (const [name, sub] of Object.entries(value)) {
        const problem = strictSchemaProblem(sub, `${at}${at ? ", " : ""}'properties', '${name}'`);
        if (problem) return problem;
      }
    } else if (value && typeof value === "object") {
      const problem = strictSchemaProblem(value, `${at}${at ? ", " : ""}'${key}'`);
      if (problem) return problem;
    }
  }
  return undefined;
}

function textOf(content: ChatMessage["content"]): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((p) => p.text ?? "").join("");
  return "";
}

/** Roughly four characters per token, as OpenAI's rule of thumb. */
function tokens(text: string): number {
  return Math.ceil(text.length / 4);
}

function requestHeaders(): Record<string, string> {
  return { "x-request-id": `req_${randomUUID().replaceAll("-", "")}`, "openai-processing-ms": "7" };
}

function openAiError(
  status: number,
  message: string,
  type: string,
  code: string | null,
  param: string | null = null,
): Reply {
  return { status, headers: requestHeaders(), body: { error: { message, type, param, code } } };
}

function invalid(message: string, param: string): Reply {
  return openAiError(400, message, "invalid_request_error", null, param);
}

/** OpenAI's error body for a status, used when a scripted fault gives none. */
export function defaultErrorBody(status: number): unknown {
  if (status === 429)
    return {
      error: {
        message:
          "Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3, Used 3, Requested 1.",
        type: "requests",
        param: null,
        code: "rate_limit_exceeded",
      },
    };
  if (status >= 500)
    return {
      error: {
        message: "The server had an error while processing your request. Sorry about that!",
        type: "server_error",
        param: null,
        code: null,
      },
    };
  return { error: { message: `Error ${status}`, type: "invalid_request_error", param: null, code: null } };
}

/** A 429 as OpenAI sends it: `retry-after` in seconds and the rate-limit headers. */
export function rateLimited(retryAfterSeconds: number, path?: string): Fault {
  return {
    status: 429,
    headers: {
      "retry-after": String(retryAfterSeconds),
      "x-ratelimit-limit-requests": "3",
      "x-ratelimit-remaining-requests": "0",
      "x-ratelimit-reset-requests": `${retryAfterSeconds}s`,
    },
    ...(path === undefined ? {} : { path }),
  };
}
