/**
 * Prometheus metrics: leads received, duplicate, completed and failed; node durations; queue depth; LLM
 * calls, tokens and latency by purpose; the owner loop's time to accept, SLA breaches and hand-offs. One registry per `createMetrics()`, so tests and several apps in
 * one process do not share counters. Served at `GET /metrics`.
 */
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { RuntimeMetrics } from "../app/runtime.ts";
import type { LlmUsage } from "../domain/types.ts";

export interface LeadMetrics extends RuntimeMetrics {
  readonly registry: Registry;
  leadReceived(source: string): void;
  leadDuplicate(source: string): void;
  /** A delivery acknowledged without making a lead: a HubSpot event no rule counts, a honeypot hit. */
  deliveryIgnored(source: string, reason: string): void;
  /** Where `GET /metrics` reads the queue depth. */
  watchQueue(depth: () => Promise<number>): void;
  /** The owner ids per-owner series may carry (routing.json's); any other id counts as "other". */
  watchOwners(owners: () => readonly string[]): void;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): LeadMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: "leadgraph_" });
  const registers = [registry];

  const received = new Counter({
    name: "leadgraph_leads_received_total",
    help: "Leads accepted by the webhook (stored and enqueued), by payload source.",
    labelNames: ["source"] as const,
    registers,
  });
  const duplicate = new Counter({
    name: "leadgraph_leads_duplicate_total",
    help: "Webhook deliveries answered as duplicates, by payload source.",
    labelNames: ["source"] as const,
    registers,
  });
  const ignored = new Counter({
    name: "leadgraph_deliveries_ignored_total",
    help: "Deliveries acknowledged without making a lead, by source and reason (HubSpot events no rule counts, honeypot hits).",
    labelNames: ["source", "reason"] as const,
    registers,
  });
  const completed = new Counter({
    name: "leadgraph_leads_completed_total",
    help: "Leads that went through the whole graph, by path.",
    labelNames: ["path"] as const,
    registers,
  });
  const failed = new Counter({
    name: "leadgraph_leads_failed_total",
    help: "Failed lead runs, by path reached and failing node.",
    labelNames: ["path", "node"] as const,
    registers,
  });
  const nodeDuration = new Histogram({
    name: "leadgraph_node_duration_seconds",
    help: "Duration of each graph node (its own work; the checkpoint write after it is not included).",
    labelNames: ["node", "status"] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const llmCalls = new Counter({
    name: "leadgraph_llm_calls_total",
    help: "LLM calls, by purpose and model.",
    labelNames: ["purpose", "model"] as const,
    registers,
  });
  const llmTokens = new Counter({
    name: "leadgraph_llm_tokens_total",
    help: "LLM tokens, by purpose and kind (prompt or completion).",
    labelNames: ["purpose", "kind"] as const,
    registers,
  });
  const llmLatency = new Histogram({
    name: "leadgraph_llm_latency_seconds",
    help: "LLM call latency, by purpose.",
    labelNames: ["purpose"] as const,
    buckets: [0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32],
    registers,
  });
  const speedToLead = new Histogram({
    name: "leadgraph_speed_to_lead_seconds",
    help: "Webhook received to owner (or queue) notified, end to end, by owner.",
    labelNames: ["owner"] as const,
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600],
    registers,
  });
  const routedTo = new Counter({
    name: "leadgraph_owner_leads_total",
    help: "Leads routed, by owner (routing.json's ids; 'queue' when a queue got the lead, 'other' otherwise) and path.",
    labelNames: ["owner", "path"] as const,
    registers,
  });
  const timeToAccept = new Histogram({
    name: "leadgraph_time_to_accept_seconds",
    help: "Owner told to owner accepted (the wait in which they accepted), by owner.",
    labelNames: ["owner"] as const,
    buckets: [10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14_400, 28_800, 86_400],
    registers,
  });
  const slaBreaches = new Counter({
    name: "leadgraph_sla_breaches_total",
    help: "Acceptance SLAs that ran out, by the owner (or 'queue' for a review queue) and what was done (reassign, escalate, notify).",
    labelNames: ["owner", "action"] as const,
    registers,
  });
  const reassignments = new Counter({
    name: "leadgraph_reassignments_total",
    help: "Leads handed from one owner to another, by kind (reassign, decline, sla, review).",
    labelNames: ["kind"] as const,
    registers,
  });
  let owners: () => readonly string[] = () => [];
  // Label values come only from routing.json, so the series stay bounded however many ids the leads carry.
  const ownerLabel = (ownerId: string | undefined) =>
    ownerId === undefined ? "queue" : owners().includes(ownerId) ? ownerId : "other";
  let queueDepth: (() => Promise<number>) | undefined;
  new Gauge({
    name: "leadgraph_queue_depth",
    help: "Jobs waiting, delayed or running.",
    registers,
    async collect() {
      if (!queueDepth) return;
      // An unreachable queue must not break the whole scrape: the gauge just keeps its last value.
      const depth = await queueDepth().catch(() => undefined);
      if (depth !== undefined) this.set(depth);
    },
  });

  return {
    registry,
    leadReceived: (source) => received.inc({ source }),
    leadDuplicate: (source) => duplicate.inc({ source }),
    deliveryIgnored: (source, reason) => ignored.inc({ source, reason }),
    leadCompleted: (path) => completed.inc({ path }),
    leadFailed: (path, node) => failed.inc({ path, node: node ?? "none" }),
    nodeFinished: (node, seconds, status) => nodeDuration.observe({ node, status }, seconds),
    llmCall: (usage: LlmUsage) => {
      llmCalls.inc({ purpose: usage.purpose, model: usage.model });
      llmTokens.inc({ purpose: usage.purpose, kind: "prompt" }, usage.promptTokens);
      llmTokens.inc({ purpose: usage.purpose, kind: "completion" }, usage.completionTokens);
      llmLatency.observe({ purpose: usage.purpose }, usage.latencyMs / 1000);
    },
    leadRouted: (ownerId, path) => routedTo.inc({ owner: ownerLabel(ownerId), path }),
    leadNotified: (ownerId, seconds) => speedToLead.observe({ owner: ownerLabel(ownerId) }, seconds),
    leadAccepted: (ownerId, seconds) => timeToAccept.observe({ owner: ownerLabel(ownerId) }, seconds),
    slaBreached: (ownerId, action) => slaBreaches.inc({ owner: ownerLabel(ownerId), action }),
    leadHandedOver: (kind) => reassignments.inc({ kind }),
    watchQueue: (depth) => {
      queueDepth = depth;
    },
    watchOwners: (list) => {
      owners = list;
    },
  };
}

declare module "fastify" {
  interface FastifyInstance {
    metrics: LeadMetrics;
  }
}

async function metricsPlugin(app: FastifyInstance, options: { metrics?: LeadMetrics }): Promise<void> {
  const metrics = options.metrics ?? createMetrics();
  metrics.watchQueue(() => app.leads.queueDepth());
  metrics.watchOwners(() => app.leads.ownerIds());
  app.decorate("metrics", metrics);
  app.get(
    "/metrics",
    {
      schema: {
        summary: "Prometheus metrics",
        tags: ["operations"],
        response: { 200: { type: "string", description: "Prometheus text exposition format" } },
      },
    },
    async (_request, reply) => {
      reply.header("content-type", metrics.registry.contentType);
      return metrics.registry.metrics();
    },
  );
}

export default fp(metricsPlugin, {
  name: "leadgraph-metrics",
  fastify: "5.x",
  dependencies: ["leadgraph-service"],
});
