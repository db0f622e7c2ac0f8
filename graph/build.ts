/**
 * The lead graph, defined once. `buildLeadGraph` compiles it for real runs; `previewLead` compiles the same
 * definition with an interrupt before the first node that talks to the owner or the CRM, so a dry run and a
 * real run share every node, edge and reducer (docs/architecture.md, "The lead's path").
 */
import { randomUUID } from "node:crypto";
import { type BaseCheckpointSaver, END, MemorySaver, START, StateGraph } from "@langchain/langgraph";
import type { Counters } from "../domain/types.ts";
import { createApplyDecisionNode, createAwaitOwnerNode } from "../nodes/await-owner.ts";
import { createCaptureNode } from "../nodes/capture.ts";
import type { GraphDeps, LeadNode } from "../nodes/deps.ts";
import { createEnrichNode } from "../nodes/enrich.ts";
import { createNotifyOwnerNode } from "../nodes/notify-owner.ts";
import { createNurtureLeadNode } from "../nodes/nurture-lead.ts";
import { createPostReviewNode, createReviewLeadNode } from "../nodes/review-lead.ts";
import { createRouteLeadNode } from "../nodes/route-lead.ts";
import { createScoreLeadNode } from "../nodes/score-lead.ts";
import { createSummarizeNode } from "../nodes/summarize.ts";
import { createSyncCrmNode } from "../nodes/sync-crm.ts";
import type { Llm } from "../tools/ports.ts";
import { FastJsonSerializer } from "./checkpoint/serde.ts";
import { pathAfterCrm, pathAfterDecision, pathAfterRouting, pathAfterSummary } from "./edges.ts";
import { timed } from "./events.ts";
import { type LeadInput, type LeadState, LeadStateAnnotation } from "./state.ts";

export const NODE_IDS = [
  "capture",
  "enrich",
  "scoreLead",
  "routeLead",
  "summarize",
  "notifyOwner",
  "nurtureLead",
  "syncCrm",
  "awaitOwner",
  "postReview",
  "reviewLead",
  "applyDecision",
] as const;
export type NodeId = (typeof NODE_IDS)[number];

/** The nodes after routing: each one reads or writes something outside the lead (vector index, Slack, CRM). */
export const AFTER_ROUTING: readonly NodeId[] = ["summarize", "nurtureLead"];

/**
 * Every node of the lead graph built on `deps`, keyed by node id. A library user who wants an extra node or a
 * changed edge wires these into their own `StateGraph(LeadStateAnnotation)` (see examples/custom-crm).
 */
export function leadGraphNodes(deps: GraphDeps): Record<NodeId, LeadNode> {
  // Timed: each node reports its start and end on the `custom` stream (graph/events.ts).
  return {
    capture: timed("capture", createCaptureNode(deps.crm)),
    enrich: timed("enrich", createEnrichNode(deps)),
    scoreLead: timed("scoreLead", createScoreLeadNode(deps)),
    routeLead: timed("routeLead", createRouteLeadNode(deps)),
    summarize: timed("summarize", createSummarizeNode(deps)),
    notifyOwner: timed("notifyOwner", createNotifyOwnerNode(deps)),
    nurtureLead: timed("nurtureLead", createNurtureLeadNode(deps)),
    syncCrm: timed("syncCrm", createSyncCrmNode(deps)),
    awaitOwner: timed("awaitOwner", createAwaitOwnerNode(deps)),
    postReview: timed("postReview", createPostReviewNode(deps)),
    reviewLead: timed("reviewLead", createReviewLeadNode(deps)),
    applyDecision: timed("applyDecision", createApplyDecisionNode(deps)),
  };
}

/** The graph's topology, uncompiled: every port comes from `deps`, so nodes never build clients. */
export function defineLeadGraph(deps: GraphDeps) {
  const nodes = leadGraphNodes(deps);
  return (
    new StateGraph(LeadStateAnnotation)
      .addNode("capture", nodes.capture)
      .addNode("enrich", nodes.enrich)
      .addNode("scoreLead", nodes.scoreLead)
      .addNode("routeLead", nodes.routeLead)
      .addNode("summarize", nodes.summarize)
      .addNode("notifyOwner", nodes.notifyOwner)
      .addNode("nurtureLead", nodes.nurtureLead)
      .addNode("syncCrm", nodes.syncCrm)
      .addNode("awaitOwner", nodes.awaitOwner)
      .addNode("postReview", nodes.postReview)
      .addNode("reviewLead", nodes.reviewLead)
      .addNode("applyDecision", nodes.applyDecision)
      // A lead is normalised before anything reads it.
      .addEdge(START, "capture")
      // Scoring needs firmographics and seniority.
      .addEdge("capture", "enrich")
      .addEdge("enrich", "scoreLead")
      // Routing conditions include the score tier.
      .addEdge("scoreLead", "routeLead")
      // Low scores never reach an AE: they go to nurture.
      .addConditionalEdges("routeLead", pathAfterRouting, ["summarize", "nurtureLead"])
      // The owner's message carries the summary; a lead the rules could not settle goes to review first.
      .addConditionalEdges("summarize", pathAfterSummary, ["notifyOwner", "postReview"])
      // Reviewers are asked in their channel, then the lead waits for their decision.
      .addEdge("postReview", "reviewLead")
      .addEdge("reviewLead", "applyDecision")
      // The CRM is written after the owner knows, so the note can reference the message.
      .addEdge("notifyOwner", "syncCrm")
      .addEdge("nurtureLead", "syncCrm")
      // The owner has the lead once told and in the CRM: it waits for them (an interrupt) until they act.
      .addConditionalEdges("syncCrm", pathAfterCrm, ["awaitOwner", END])
      // An action or the SLA timer resumes the wait; the decision is acted on in its own step.
      .addEdge("awaitOwner", "applyDecision")
      // A hand-off tells the new holder and moves the CRM owner, then waits again; a kept lead waits again.
      .addConditionalEdges("applyDecision", pathAfterDecision, [
        "notifyOwner",
        "awaitOwner",
        "reviewLead",
        "nurtureLead",
        END,
      ])
  );
}

/** Compiles the lead graph; the checkpointer defaults to an in-memory one (one-shot runs, tests). */
export function buildLeadGraph(deps: GraphDeps, options: { checkpointer?: BaseCheckpointSaver } = {}) {
  return defineLeadGraph(deps).compile({
    checkpointer: options.checkpointer ?? new MemorySaver(new FastJsonSerializer()),
  });
}

export type LeadGraph = ReturnType<typeof buildLeadGraph>;

/** Counters that answer what the next value would be without moving anything (dry runs). */
export function readOnlyCounters(counters: Counters): Counters {
  return {
    increment: async (key) => (await counters.get(key)) + 1,
    incrementBelow: async (key, limit) => {
      const value = await counters.get(key);
      return value < limit ? { taken: true, value: value + 1 } : { taken: false, value };
    },
    decrement: async (key) => counters.get(key),
    get: (key) => counters.get(key),
  };
}

/** The state a run starts from, with every channel at its default (tests build on it). */
export function initialState(input: LeadInput): LeadState {
  return {
    leadId: input.leadId,
    receivedAt: input.receivedAt,
    source: input.source,
    raw: input.raw,
    lead: undefined,
    enrichment: undefined,
    score: undefined,
    route: undefined,
    path: undefined,
    similarAccounts: [],
    summary: undefined,
    notifications: [],
    crm: {},
    warnings: [],
    errors: [],
    llmUsage: [],
    ownership: undefined,
    decision: undefined,
  };
}

export interface PreviewOptions {
  /** Consult the configured LLM for a grey-zone score, as a real run would. Default false: rules only. */
  llm?: boolean;
}

interface PreviewGraph {
  graph: ReturnType<typeof buildLeadGraph>;
  saver: MemorySaver;
}

/** Stands in for the LLM in a rules-only dry run: scoreLead and summarize skip an unconfigured LLM. */
const NO_LLM: Llm = {
  name: "none (dry run)",
  configured: false,
  assessLead: () => Promise.reject(new Error("the LLM is not consulted in a dry run")),
  summarizeLead: () => Promise.reject(new Error("the LLM is not consulted in a dry run")),
};

const previewGraphs = new WeakMap<GraphDeps, { rules?: PreviewGraph; llm?: PreviewGraph }>();

function previewGraph(deps: GraphDeps, llm: boolean): PreviewGraph {
  let cached = previewGraphs.get(deps);
  if (!cached) {
    cached = {};
    previewGraphs.set(deps, cached);
  }
  const key = llm ? "llm" : "rules";
  const found = cached[key];
  if (found) return found;
  // Counters never move; the LLM is asked only when the caller says so (it costs money and time).
  const memory = deps.routeMemory;
  const dry: GraphDeps = {
    ...deps,
    counters: readOnlyCounters(deps.counters),
    // A dry run reads whom a person was routed to, and remembers nothing.
    ...(memory && { routeMemory: { recall: (key) => memory.recall(key), remember: async () => {} } }),
    // A dry run answers "why": every rule's verdict, computed now rather than stored on every lead.
    explainRoutes: true,
    ...(llm ? {} : { llm: NO_LLM }),
  };
  const saver = new MemorySaver(new FastJsonSerializer());
  const graph = defineLeadGraph(dry).compile({ checkpointer: saver, interruptBefore: [...AFTER_ROUTING] });
  const built = { graph, saver };
  cached[key] = built;
  return built;
}

/**
 * capture → enrich → scoreLead → routeLead, then stop: no message, no CRM write, no round-robin counter
 * moved, and no LLM call unless `options.llm`. Answers "who would get this lead, and why". Reads (the CRM's
 * company lookup, enrichers) still happen. Routing and scoring are read through the deps' getters, so
 * reloaded files apply.
 */
export async function previewLead(
  deps: GraphDeps,
  input: LeadInput,
  options: PreviewOptions = {},
): Promise<LeadState> {
  const { graph, saver } = previewGraph(deps, options.llm ?? false);
  const threadId = `preview-${randomUUID()}`;
  try {
    return (await graph.invoke({ ...input }, { configurable: { thread_id: threadId } })) as LeadState;
  } finally {
    await saver.deleteThread(threadId);
  }
}
