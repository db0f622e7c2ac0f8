import { END, START, StateGraph } from "@langchain/langgraph";
import { createCaptureNode } from "../nodes/capture.ts";
import { createEnrichNode } from "../nodes/enrich.ts";
import { createRouteLeadNode } from "../nodes/route-lead.ts";
import { createScoreLeadNode } from "../nodes/score-lead.ts";
import type { Counters } from "../tools/ports.ts";
import type { GraphDeps } from "./deps.ts";
import { type LeadInput, type LeadState, LeadStateAnnotation } from "./state.ts";

/** Counters that answer what the next value would be without moving anything (dry runs). */
export function readOnlyCounters(counters: Counters): Counters {
  return {
    increment: async (key) => (await counters.get(key)) + 1,
    get: (key) => counters.get(key),
  };
}

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
  };
}

/** capture → enrich → scoreLead → routeLead with counters that never move; no checkpointer. */
function buildPreviewGraph(deps: GraphDeps) {
  const dry: GraphDeps = { ...deps, counters: readOnlyCounters(deps.counters) };
  return new StateGraph(LeadStateAnnotation)
    .addNode("capture", createCaptureNode())
    .addNode("enrich", createEnrichNode(dry))
    .addNode("scoreLead", createScoreLeadNode(dry))
    .addNode("routeLead", createRouteLeadNode(dry))
    .addEdge(START, "capture")
    .addEdge("capture", "enrich")
    .addEdge("enrich", "scoreLead")
    .addEdge("scoreLead", "routeLead")
    .addEdge("routeLead", END)
    .compile();
}

const previewGraphs = new WeakMap<GraphDeps, ReturnType<typeof buildPreviewGraph>>();

/**
 * capture → enrich → scoreLead → routeLead, with no side effects: no message, no CRM write and no
 * round-robin counter moved. Answers "who would get this lead, and why". The preview graph is built once
 * per deps; routing and scoring are read through the deps' getters, so reloaded files still apply.
 */
export async function previewLead(deps: GraphDeps, input: LeadInput): Promise<LeadState> {
  let graph = previewGraphs.get(deps);
  if (!graph) {
    graph = buildPreviewGraph(deps);
    previewGraphs.set(deps, graph);
  }
  return (await graph.invoke({ ...input })) as LeadState;
}
