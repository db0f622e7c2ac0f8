import type { Enrichment, LeadPath, NormalizedLead, Route, Score, SimilarAccount, Summary } from "./types.ts";

/**
 * What the pure layouts (summary, owner message, CRM note) read of a lead: the graph state satisfies it,
 * and so does a hand-built object in a test.
 */
export interface LeadSnapshot {
  leadId: string;
  lead?: NormalizedLead | undefined;
  enrichment?: Enrichment | undefined;
  score?: Score | undefined;
  route?: Route | undefined;
  path?: LeadPath | undefined;
  similarAccounts: SimilarAccount[];
  summary?: Summary | undefined;
}

/** A step that runs after capture can rely on the normalised lead; its absence is a wiring bug. */
export function requireLead(state: Pick<LeadSnapshot, "lead">, node: string): NormalizedLead {
  if (!state.lead) throw new Error(`${node}: state.lead is missing (capture did not run)`);
  return state.lead;
}
