/**
 * A loopback fake of Pinecone's control plane (describe index) and data plane (upsert, query) on
 * one port, so tests run the real `@pinecone-database/pinecone` client. Shapes follow
 * https://docs.pinecone.io/reference/api (API version 2026-07, the one the SDK pins).
 */
import {
  type FakeServer,
  type Fault,
  type RecordedRequest,
  type Reply,
  startFakeServer,
} from "./http-fake.ts";

export type { Fault, RecordedRequest };

type MetadataValue = string | number | boolean | string[];
type Metadata = Record<string, MetadataValue>;

export interface StoredVector {
  id: string;
  values: number[];
  metadata?: Metadata;
}

export interface PineconeFakeOptions {
  /** When set, requests must carry `Api-Key: <apiKey>`. */
  apiKey?: string;
  /** Index served by describe; default "accounts". */
  indexName?: string;
  /** Fixed dimension; by default the first upsert sets it. */
  dimension?: number;
}

export interface PineconeFake extends FakeServer {
  indexName: string;
  /** The data-plane host describe returns (this same server). */
  host: string;
  /** Stored vectors of a namespace ("" is the default namespace). */
  vectors(namespace?: string): Map<string, StoredVector>;
  dataRequests(): RecordedRequest[];
}

export async function startPineconeFake(options: PineconeFakeOptions = {}): Promise<PineconeFake> {
  const indexName = options.indexName ?? "accounts";
  const namespaces = new Map<string, Map<string, StoredVector>>();
  let dimension = options.dimension;
  let host = "";

  const ns = (name: unknown): Map<string, StoredVector> => {
    const key = typeof name === "string" && name !== "__default__" ? name : "";
    let found = namespaces.get(key);
    if (!found) {
      found = new Map();
      namespaces.set(key, found);
    }
    return found;
  };

  const server = await startFakeServer((req) => {
    if (options.apiKey !== undefined && req.headers["api-key"] !== options.apiKey)
      return {
        status: 401,
        body: { error: { code: "UNAUTHENTICATED", message: "Invalid API Key" }, status: 401 },
      };

    const describe = /^\/indexes\/([^/]+)$/.exec(req.path);
    if (req.method === "GET" && describe) {
      const name = decodeURIComponent(describe[1]!);
      if (name !== indexName)
        return {
          status: 404,
          body: { error: { code: "NOT_FOUND", message: `Resource ${name} not found` }, status: 404 },
        };
      return { status: 200, body: indexModel(indexName, host, dimension ?? 256) };
    }
    if (req.method === "POST" && req.path === "/vectors/upsert") {
      const result = upsert(req.body, ns, dimension);
      if ("error" in result) return result.error;
      dimension = result.dimension;
      return { status: 200, body: { upsertedCount: result.count } };
    }
    if (req.method === "POST" && req.path === "/query") return query(req.body, ns, dimension);
    return { status: 404, body: { code: 5, message: `Not Found: ${req.method} ${req.path}`, details: [] } };
  }, defaultErrorBody);
  host = server.url;

  return Object.assign(server, {
    indexName,
    host,
    vectors: (namespace = "") => ns(namespace),
    dataRequests: () => server.requests.filter((r) => r.path === "/vectors/upsert" || r.path === "/query"),
  });
}

function indexModel(name: string, host: string, dimension: number): unknown {
  return {
    name,
    host,
    status: { ready: true, state: "Ready" },
    deployment: { deployment_type: "managed", cloud: "aws", region: "us-east-1" },
    schema: { fields: { values: { type: "dense_vector", dimension, metric: "cosine" } } },
    deletion_protection: "disabled",
    tags: {},
  };
}

function upsert(
  body: unknown,
  ns: (name: unknown) => Map<string, StoredVector>,
  dimension: number | undefined,
): { count: number; dimension: number | undefined } | { error: Reply } {
  const request = body as { vectors?: unknown; namespace?: unknown };
  if (!Array.isArray(request?.vectors) || request.vectors.length === 0)
    return { error: badRequest("Invalid request: vectors must contain at least one vector") };
  if (request.vectors.length > 1000)
    return {
      error: badRequest(`Invalid request: upsert batch of ${request.vectors.length} exceeds 1000 vectors`),
    };
  let dim = dimension;
  const accepted: StoredVector[] = [];
  for (const v of request.vectors as Array<{ id?: unknown; values?: unknown; metadata?: unknown }>) {
    if (typeof v.id !== "string" || v.id === "")
      return { error: badRequest("Invalid request: vector id is required") };
    if (!Array.isArray(v.values) || !v.values.every((x) => typeof x === "number" && Number.isFinite(x)))
      return { error: badRequest(`Invalid request: vector ${v.id} has invalid values`) };
    dim ??= v.values.length;
    if (v.values.length !== dim)
      return {
        error: badRequest(
          `Vector dimension ${v.values.length} does not match the dimension of the index ${dim}`,
        ),
      };
    const problem = metadataProblem(v.metadata);
    if (problem) return { error: badRequest(`Invalid request: metadata of ${v.id}: ${problem}`) };
    accepted.push({
      id: v.id,
      values: [...(v.values as number[])],
      ...(v.metadata === undefined ? {} : { metadata: structuredClone(v.metadata as Metadata) }),
    });
  }
  const store = ns(request.namespace);
  for (const v of accepted) store.set(v.id, v);
  return { count: accepted.length, dimension: dim };
}

function query(
  body: unknown,
  ns: (name: unknown) => Map<string, StoredVector>,
  dimension: number | undefined,
): Reply {
  const request = body as {
    vector?: unknown;
    id?: unknown;
    topK?: unknown;
    filter?: unknown;
    includeValues?: unknown;
    includeMetadata?: unknown;
    namespace?: unknown;
  };
  if (typeof request?.topK !== "number" || request.topK < 1 || request.topK > 10_000)
    return badRequest("Invalid request: topK must be between 1 and 10000");
  const store = ns(request.namespace);
  let vector: number[] | undefined;
  if (Array.isArray(request.vector)) vector = request.vector as number[];
  else if (typeof request.id === "string") vector = store.get(request.id)?.values;
  if (vector === undefined) return badRequest("Invalid request: one of vector or id is required");
  if (dimension !== undefined && vector.length !== dimension)
    return badRequest(
      `Vector dimension ${vector.length} does not match the dimension of the index ${dimension}`,
    );
  const filter = request.filter as Filter | undefined;
  const matches = [...store.values()]
    .filter((v) => filter === undefined || matchesFilter(v.metadata ?? {}, filter))
    .map((v) => ({ v, score: cosine(vector, v.values) }))
    .sort((a, b) => b.score - a.score || a.v.id.localeCompare(b.v.id))
    .slice(0, request.topK)
    .map(({ v, score }) => ({
      id: v.id,
      score,
      values: request.includeValues ? v.values : [],
      ...(request.includeMetadata && v.metadata ? { metadata: v.metadata } : {}),
    }));
  return {
    status: 200,
    body: {
      results: [],
      matches,
      namespace: typeof request.namespace === "string" ? request.namespace : "",
      usage: { readUnits: 1 },
    },
  };
}

type Filter = Record<string, unknown>;

/** Pinecone's metadata filter language: implicit equality, $eq/$ne/$gt/$gte/$lt/$lte/$in/$nin/$exists, $and/$or. */
export function matchesFilter(metadata: Metadata, filter: Filter): boolean {
  return Object.entries(filter).every(([key, condition]) => {
    if (key === "$and") return (condition as Filter[]).every((f) => matchesFilter(metadata, f));
    if (key === "$or") return (condition as Filter[]).some((f) => matchesFilter(metadata, f));
    const value = metadata[key];
    if (condition === null || typeof condition !== "object" || Array.isArray(condition))
      return equals(value, condition);
    return Object.entries(condition as Record<string, unknown>).every(([op, operand]) => {
      switch (op) {
        case "$eq":
          return equals(value, operand);
        case "$ne":
          return !equals(value, operand);
        case "$gt":
          return typeof value === "number" && value > (operand as number);
        case "$gte":
          return typeof value === "number" && value >= (operand as number);
        case "$lt":
          return typeof value === "number" && value < (operand as number);
        case "$lte":
          return typeof value === "number" && value <= (operand as number);
        case "$in":
          return (operand as unknown[]).some((o) => equals(value, o));
        case "$nin":
          return !(operand as unknown[]).some((o) => equals(value, o));
        case "$exists":
          return (value !== undefined) === operand;
        default:
          return false;
      }
    });
  });
}

/** A list field matches when it contains the value, as in Pinecone. */
function equals(value: MetadataValue | undefined, operand: unknown): boolean {
  return Array.isArray(value) ? value.includes(operand as string) : value === operand;
}

function metadataProblem(metadata: unknown): string | undefined {
  if (metadata === undefined) return undefined;
  if (metadata === null || typeof metadata !== "object" || Array.isArray(metadata))
    return "must be an object";
  for (const [key, value] of Object.entries(metadata)) {
    const ok =
      typeof value === "string" ||
      typeof value === "boolean" ||
      (typeof value === "number" && Number.isFinite(value)) ||
      (Array.isArray(value) && value.every((v) => typeof v === "string"));
    if (!ok) return `field ${key} must be a string, number, boolean or list of strings`;
  }
  return undefined;
}

function cosine(a: number[], b: number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += (a[i] ?? 0) * (b[i] ?? 0);
    na += (a[i] ?? 0) ** 2;
    nb += (b[i] ?? 0) ** 2;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

function badRequest(message: string): Reply {
  return { status: 400, body: { code: 3, message, details: [] } };
}

/** Pinecone's data-plane error bodies (gRPC status codes) for a status, used when a fault gives none. */
export function defaultErrorBody(status: number): unknown {
  if (status === 429)
    return {
      code: 8,
      message: "Request failed. You've reached the max request rate for this index.",
      details: [],
    };
  if (status === 503) return { code: 14, message: "Service unavailable", details: [] };
  if (status >= 500) return { code: 13, message: "Internal error", details: [] };
  return { code: 3, message: `Error ${status}`, details: [] };
}
