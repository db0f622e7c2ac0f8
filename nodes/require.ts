import type { LeadState, NormalizedLead } from "../graph/state.ts";

/** A node that runs after capture can rely on the normalised lead; its absence is a wiring bug. */
export function requireLead(state: LeadState, node: string): NormalizedLead {
  if (!state.lead) throw new Error(`${node}: state.lead is missing (capture did not run)`);
  return state.lead;
}
