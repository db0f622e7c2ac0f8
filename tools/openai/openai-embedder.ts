import { OpenAIEmbeddings } from "@langchain/openai";
import type { Embedder } from "../ports.ts";
import { defaultPolicy, type VendorCaller } from "../resilience.ts";
import { createOpenAiCaller } from "./openai-errors.ts";

export interface OpenAiEmbedderOptions {
  apiKey: string;
  baseURL?: string;
  /** Default "text-embedding-3-small". */
  model?: string;
  /** Vector length; sent as `dimensions` (text-embedding-3 models can shorten their vectors). */
  dimension?: number;
  /** Texts per request; default 256 (the API takes up to 2048). */
  batchSize?: number;
  /** Per attempt (default 10 s). */
  timeoutMs?: number;
  /** Shared with the LLM so both see one circuit; built from `timeoutMs` when absent. */
  caller?: VendorCaller;
}

const NATIVE_DIMENSIONS: Record<string, number> = {
  "text-embedding-3-small": 1536,
  "text-embedding-3-large": 3072,
  "text-embedding-ada-002": 1536,
};

// The API rejects an empty string with a 400 for the whole batch, which would fail every other text in it.
const EMPTY_TEXT_PLACEHOLDER = "(empty)";

export class OpenAiEmbedder implements Embedder {
  readonly name = "openai";
  readonly dimension: number;
  readonly model: string;
  readonly #options: OpenAiEmbedderOptions;
  readonly #timeoutMs: number;
  readonly #caller: VendorCaller;
  readonly #batchSize: number;
  /** Only send `dimensions` when asked to: ada-002 and most compatible servers reject it. */
  readonly #sendDimensions: boolean;

  constructor(options: OpenAiEmbedderOptions) {
    this.model = options.model ?? "text-embedding-3-small";
    const dimension = options.dimension ?? NATIVE_DIMENSIONS[this.model];
    if (dimension === undefined)
      throw new Error(
        `OpenAiEmbedder: set \`dimension\` for model ${this.model} (its native size is not known)`,
      );
    this.dimension = dimension;
    this.#sendDimensions =
      options.dimension !== undefined && options.dimension !== NATIVE_DIMENSIONS[this.model];
    this.#options = options;
    this.#timeoutMs = options.timeoutMs ?? options.caller?.policy.timeoutMs ?? defaultPolicy.timeoutMs;
    this.#caller = options.caller ?? createOpenAiCaller({ timeoutMs: this.#timeoutMs });
    this.#batchSize = Math.max(1, Math.min(options.batchSize ?? 256, 2048));
  }

  async embed(texts: string[]): Promise<number[][]> {
    const vectors: number[][] = [];
    for (let start = 0; start < texts.length; start += this.#batchSize) {
      const batch = texts
        .slice(start, start + this.#batchSize)
        .map((t) => (t.trim() === "" ? EMPTY_TEXT_PLACEHOLDER : t));
      // One request per caller.call, so a retry re-sends only the batch that failed.
      const embedded = await this.#caller.call("embeddings", (signal) =>
        this.#client(signal).embedDocuments(batch),
      );
      if (embedded.length !== batch.length)
        throw new Error(`openai: embeddings returned ${embedded.length} vectors for ${batch.length} texts`);
      for (const vector of embedded) {
        if (vector.length !== this.dimension)
          throw new Error(
            `openai: ${this.model} returned ${vector.length} dimensions, expected ${this.dimension}`,
          );
        vectors.push(vector);
      }
    }
    return vectors;
  }

  /**
   * A client bound to one attempt's signal. `OpenAIEmbeddings.embedDocuments` takes no AbortSignal,
   * so the signal reaches the HTTP request through the client's `fetch`; building the client is
   * cheap (no I/O) and connections are pooled by the global dispatcher anyway.
   */
  #client(signal: AbortSignal): OpenAIEmbeddings {
    const { apiKey, baseURL } = this.#options;
    const boundFetch = (url: string | URL | Request, init?: RequestInit) =>
      fetch(url, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal });
    return new OpenAIEmbeddings({
      apiKey,
      model: this.model,
      ...(this.#sendDimensions ? { dimensions: this.dimension } : {}),
      batchSize: this.#batchSize,
      timeout: this.#timeoutMs,
      // The VendorCaller owns retries.
      maxRetries: 0,
      configuration: { fetch: boundFetch, ...(baseURL === undefined ? {} : { baseURL }) },
    });
  }
}
