import { createCaptureNode } from "../nodes/capture.ts";
import { createEnrichNode } from "../nodes/enrich.ts";
import { createRouteLeadNode } from "../nodes/route-lead.ts";
import { createScoreLeadNode } from "../nodes/score-lead.ts";
import type { Counters } from "../tools/ports.ts";
import type { GraphDeps, LeadNode } from "./deps.ts";
import { type LeadInput, type LeadState, LeadStateAnnotation } from "./state.ts";

/** Counters that answer what the next value would be without moving anything (dry runs). */
export function readOnlyCounters(counters: Counters): Counters {
  return {
    increment: async (key) => (await counters.get(key)) + 1,
    get: (key) => counters.get(key),
  };
}

function applyUpdate(state: LeadState, update: Partial<LeadState>): LeadState {
  const next = { ...state } as Record<string, unknown>;
  const channels = LeadStateAnnotation.spec as Record<
    string,
    { operator?: (a: unknown, b: unknown) => unknown }
  >;
  for (const [key, value] of Object.entries(update)) {
    if (value === undefined) continue;
    const reducer = channels[key]?.operator;
    next[key] = reducer ? reducer(next[key], value) : value;
  }
  return next as LeadState;
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

/**
 * capture → enrich → scoreLead → routeLead, with no side effects: no message, no CRM write and no
 * round-robin counter moved. Answers "who would get this lead, and why".
 */
export async function previewLead(deps: GraphDeps, input: LeadInput): Promise<LeadState> {
  const dry: GraphDeps = { ...deps, counters: readOnlyCounters(deps.counters) };
  const steps: LeadNode[] = [
    createCaptureNode(),
    createEnrichNode(dry),
    createScoreLeadNode(dry),
    createRouteLeadNode(dry),
  ];
  let state = initialState(input);
  for (const step of steps) state = applyUpdate(state, await step(state));
  return state;
}
