/**
 * Load shedding (@fastify/under-pressure): when the process is truly overloaded (the event loop lags a
 * second behind, or the heap is nearly at V8's limit) requests are answered at once with 503, Retry-After
 * and our error body, instead of queueing until the sender times out and retries into the same overload.
 * Event-loop utilisation is not a signal here: it reaches 1 at full throughput without anyone waiting.
 * Liveness and metrics are always answered, so an overloaded process is not restarted for it and stays
 * visible.
 */
import { getHeapStatistics } from "node:v8";
import underPressure, { type FastifyUnderPressureOptions } from "@fastify/under-pressure";
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { HttpError } from "./errors.ts";

/** Seconds an overloaded process asks senders to wait. */
export const OVERLOAD_RETRY_AFTER_SECONDS = 10;

/** The thresholds: production's unless a test passes its own. */
export type LoadSheddingOptions = Pick<
  FastifyUnderPressureOptions,
  "maxEventLoopDelay" | "maxHeapUsedBytes" | "sampleInterval"
>;

export const LOAD_SHEDDING_DEFAULTS = {
  maxEventLoopDelay: 1000,
  maxHeapUsedBytes: Math.floor(getHeapStatistics().heap_size_limit * 0.9),
  sampleInterval: 1000,
} as const satisfies LoadSheddingOptions;

const ALWAYS_ANSWERED = new Set(["/health", "/metrics"]);

async function loadShedding(app: FastifyInstance, options: LoadSheddingOptions): Promise<void> {
  await app.register(underPressure, {
    ...LOAD_SHEDDING_DEFAULTS,
    ...options,
    // The error handler logs the 503 (http/errors.ts).
    pressureHandler: async (request) => {
      if (ALWAYS_ANSWERED.has(request.url.split("?")[0] ?? "")) return;
      throw new HttpError(503, "overloaded", "the service is overloaded; retry later", undefined, {
        "retry-after": String(OVERLOAD_RETRY_AFTER_SECONDS),
      });
    },
  });
}

export default fp(loadShedding, { name: "leadgraph-load-shedding", fastify: "5.x" });
