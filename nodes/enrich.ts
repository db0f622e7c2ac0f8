import type { GraphDeps, LeadNode } from "../graph/deps.ts";
import { type ChainOptions, runEnrichers } from "../tools/enrich/chain.ts";

/** The enrich node: runs the configured enricher chain over the captured lead. */
export function createEnrichNode(deps: Pick<GraphDeps, "enrichers">, options: ChainOptions = {}): LeadNode {
  return async (state) => {
    // Capture either writes a lead or fails the run, so a missing lead here is a wiring bug.
    if (!state.lead) throw new Error("enrich ran before capture wrote a lead");
    const { enrichment, warnings } = await runEnrichers(state.lead, deps.enrichers, options);
    return { enrichment, warnings };
  };
}
