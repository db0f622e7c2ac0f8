import { AsyncLocalStorage } from "node:async_hooks";
import { type Index, Pinecone, type RecordMetadata } from "@pinecone-database/pinecone";
import { z } from "zod";
import type { PastAccount } from "../../domain/types.ts";
import type { AccountFilter, VectorIndex, VectorMatch } from "../ports.ts";
import {
  classifyHttpStatus,
  type ErrorClassification,
  type PolicyOverrides,
  parseRetryAfter,
  VendorCaller,
  type VendorPolicy,
  vendorPolicy,
} from "../resilience.ts";

export interface PineconeIndexOptions {
  apiKey: string;
  /** Index name; its data-plane host is looked up once (GET /indexes/{name}) unless `host` is given. */
  index: string;
  /** Data-plane host from the Pinecone console; saves the lookup. */
  host?: string;
  namespace?: string;
  /** Control-plane URL; default https://api.pinecone.io. */
  controllerHostUrl?: string;
  caller?: VendorCaller;
  /** Per attempt, when no caller is given. */
  timeoutMs?: number;
}

/** Pinecone's documented upsert batch size for dense vectors with metadata. */
export const UPSERT_BATCH_SIZE = 100;

const accountMetadata = z.object({
  id: z.string(),
  name: z.string(),
  domain: z.string(),
  industry: z.string(),
  employees: z.number(),
  country: z.string(),
  region: z.string(),
  outcome: z.enum(["won", "lost"]),
  arr: z.number(),
  note: z.string(),
});

/** What one attempt saw on the wire; the SDK's errors drop the status of a 5xx and every header. */
interface Exchange {
  signal: AbortSignal;
  status?: number;
  retryAfterMs?: number;
}

/** A failed Pinecone call with the HTTP status and Retry-After that our fetch observed. */
export class PineconeCallError extends Error {
  override readonly name = "PineconeCallError";
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(cause: unknown, status: number | undefined, retryAfterMs: number | undefined) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.status = status;
    this.retryAfterMs = retryAfterMs;
  }
}

export function classifyPineconeError(err: unknown): ErrorClassification {
  if (!(err instanceof PineconeCallError)) return classifyHttpStatus(undefined);
  // The SDK validated our arguments before sending anything: a bug on our side, not an outage.
  if (err.cause instanceof Error && err.cause.name === "PineconeArgumentError")
    return { retryable: false, tripsCircuit: false, code: "http" };
  return classifyHttpStatus(err.status, err.retryAfterMs);
}

export function pineconePolicy(overrides: PolicyOverrides = {}): VendorPolicy {
  return vendorPolicy("pinecone", classifyPineconeError, overrides);
}

export class PineconeIndex implements VectorIndex {
  readonly name = "pinecone";
  readonly #caller: VendorCaller;
  readonly #index: Index<RecordMetadata>;
  readonly #exchange = new AsyncLocalStorage<Exchange>();

  constructor(options: PineconeIndexOptions) {
    this.#caller =
      options.caller ??
      new VendorCaller(
        pineconePolicy(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      );
    const client = new Pinecone({
      apiKey: options.apiKey,
      ...(options.controllerHostUrl === undefined ? {} : { controllerHostUrl: options.controllerHostUrl }),
      // The VendorCaller owns retries; the SDK's own would also hide the 5xx status from it.
      maxRetries: 0,
      fetchApi: (url, init) => this.#fetch(url, init),
    });
    this.#index = client.index({
      name: options.index,
      ...(options.host === undefined ? {} : { host: options.host }),
      ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
    });
  }

  async upsert(records: Array<{ id: string; values: number[]; account: PastAccount }>): Promise<void> {
    for (let start = 0; start < records.length; start += UPSERT_BATCH_SIZE) {
      const batch = records.slice(start, start + UPSERT_BATCH_SIZE).map((r) => ({
        id: r.id,
        values: r.values,
        metadata: toMetadata(r.account),
      }));
      // Upsert by id is idempotent, so retrying a batch that may have landed is safe.
      await this.#call("upsert", () => this.#index.upsert({ records: batch }));
    }
  }

  async query(vector: number[], options: { topK: number; filter?: AccountFilter }): Promise<VectorMatch[]> {
    if (options.topK < 1) return [];
    const filter = toPineconeFilter(options.filter);
    const response = await this.#call("query", () =>
      this.#index.query({
        vector,
        topK: options.topK,
        includeMetadata: true,
        includeValues: false,
        ...(filter === undefined ? {} : { filter }),
      }),
    );
    const matches: VectorMatch[] = [];
    for (const match of response.matches) {
      const account = accountMetadata.safeParse({ id: match.id, ...match.metadata });
      // A record written by another tool (or an older schema) is skipped rather than failing the lead.
      if (!account.success) continue;
      matches.push({ id: match.id, score: match.score ?? 0, account: account.data });
    }
    return matches;
  }

  async #call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return this.#caller.call(operation, async (signal) => {
      const exchange: Exchange = { signal };
      try {
        return await this.#exchange.run(exchange, fn);
      } catch (err) {
        throw new PineconeCallError(err, exchange.status, exchange.retryAfterMs);
      }
    });
  }

  /** The SDK's fetch: carries the attempt's AbortSignal (the SDK has none) and records status and Retry-After. */
  async #fetch(url: string | URL | Request, init?: RequestInit): Promise<Response> {
    const exchange = this.#exchange.getStore();
    if (exchange === undefined) return fetch(url, init);
    // One operation may make two requests (host lookup, then data): only the last one explains a failure.
    delete exchange.status;
    delete exchange.retryAfterMs;
    const signal = init?.signal ? AbortSignal.any([init.signal, exchange.signal]) : exchange.signal;
    const response = await fetch(url, { ...init, signal });
    exchange.status = response.status;
    const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
    if (retryAfterMs !== undefined) exchange.retryAfterMs = retryAfterMs;
    return response;
  }
}

/** Pinecone metadata must be flat (string, number, boolean or list of strings). */
export function toMetadata(account: PastAccount): RecordMetadata {
  return {
    id: account.id,
    name: account.name,
    domain: account.domain,
    industry: account.industry,
    employees: account.employees,
    country: account.country,
    region: account.region,
    outcome: account.outcome,
    arr: account.arr,
    note: account.note,
  };
}

export function toPineconeFilter(
  filter: AccountFilter | undefined,
): Record<string, { $eq: string }> | undefined {
  const clauses = Object.entries(filter ?? {}).filter(
    (entry): entry is [string, string] => typeof entry[1] === "string",
  );
  // The SDK rejects an empty filter object, so "no filter" must be no key at all.
  if (clauses.length === 0) return undefined;
  return Object.fromEntries(clauses.map(([key, value]) => [key, { $eq: value }]));
}
