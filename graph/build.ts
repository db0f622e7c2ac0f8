import { type BaseCheckpointSaver, END, MemorySaver, START, StateGraph } from "@langchain/langgraph";
import { createCaptureNode } from "../nodes/capture.ts";
import { createEnrichNode } from "../nodes/enrich.ts";
import { createNotifyOwnerNode } from "../nodes/notify-owner.ts";
import { createNurtureLeadNode } from "../nodes/nurture-lead.ts";
import { createRouteLeadNode } from "../nodes/route-lead.ts";
import { createScoreLeadNode } from "../nodes/score-lead.ts";
import { createSummarizeNode } from "../nodes/summarize.ts";
import { createSyncCrmNode } from "../nodes/sync-crm.ts";
import type { GraphDeps } from "./deps.ts";
import { pathAfterRouting } from "./edges.ts";
import { LeadStateAnnotation } from "./state.ts";

export const NODE_IDS = [
  "capture",
  "enrich",
  "scoreLead",
  "routeLead",
  "summarize",
  "notifyOwner",
  "nurtureLead",
  "syncCrm",
] as const;
export type NodeId = (typeof NODE_IDS)[number];

/** Wires the lead graph; every port comes from `deps`, so nodes never build clients. */
export function buildLeadGraph(deps: GraphDeps, options: { checkpointer?: BaseCheckpointSaver } = {}) {
  const builder = new StateGraph(LeadStateAnnotation)
    .addNode("capture", createCaptureNode())
    .addNode("enrich", createEnrichNode(deps))
    .addNode("scoreLead", createScoreLeadNode(deps))
    .addNode("routeLead", createRouteLeadNode(deps))
    .addNode("summarize", createSummarizeNode(deps))
    .addNode("notifyOwner", createNotifyOwnerNode(deps))
    .addNode("nurtureLead", createNurtureLeadNode(deps))
    .addNode("syncCrm", createSyncCrmNode(deps))
    // A lead is normalised before anything reads it.
    .addEdge(START, "capture")
    // Scoring needs firmographics and seniority.
    .addEdge("capture", "enrich")
    .addEdge("enrich", "scoreLead")
    // Routing conditions include the score tier.
    .addEdge("scoreLead", "routeLead")
    // Low scores never reach an AE: they go to nurture.
    .addConditionalEdges("routeLead", pathAfterRouting, ["summarize", "nurtureLead"])
    // The owner's message carries the summary.
    .addEdge("summarize", "notifyOwner")
    // The CRM is written after the owner knows, so the note can reference the message.
    .addEdge("notifyOwner", "syncCrm")
    .addEdge("nurtureLead", "syncCrm")
    .addEdge("syncCrm", END);
  return builder.compile({ checkpointer: options.checkpointer ?? new MemorySaver() });
}

export type LeadGraph = ReturnType<typeof buildLeadGraph>;
