import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import type { Prompts } from "../domain/prompt.ts";
import type { RoutingConfig } from "../domain/routing/schema.ts";
import type { ScoringConfig } from "../domain/scoring/schema.ts";
import type { LeadStateValues } from "../domain/snapshot.ts";
import type { Counters, LlmUsage, RouteMemory } from "../domain/types.ts";
import type { Crm, Embedder, Enricher, Ledger, Llm, Logger, Notifier, VectorIndex } from "../tools/ports.ts";

/** Everything the graph needs from outside; `buildLeadGraph(deps)` takes it whole. */
export interface GraphDeps {
  llm: Llm;
  embedder: Embedder;
  vectorIndex: VectorIndex;
  crm: Crm;
  notifier: Notifier;
  /** Tried in order; earlier enrichers win a field. */
  enrichers: Enricher[];
  counters: Counters;
  ledger: Ledger;
  /** Who each person was last routed to (returning leads); absent: whether a lead is returning is unknown. */
  routeMemory?: RouteMemory;
  logger: Logger;
  /** Getters, so a reloaded file takes effect on the next lead. */
  routing: () => RoutingConfig;
  /** Hashes of the routing.json and scoring.json versions in force, recorded on each decision. */
  configVersions?: () => { routing: string; scoring: string };
  scoring: () => ScoringConfig;
  prompts: () => Prompts;
  clock: () => Date;
  /** Base URL of the admin API, for the "open lead" link in messages. */
  publicUrl?: string;
  /** Called with each LLM call's usage (metrics). */
  onLlmUsage?: (usage: LlmUsage) => void;
  /**
   * Route explanations name every rule tried (dry runs: preview, `leadgraph route`). Otherwise (real runs)
   * a lead keeps the rules it stopped at and a count of the others, whatever the number of rules.
   */
  explainRoutes?: boolean;
}

/** A node: reads the state, returns only the keys it changed. */
export type LeadNode = (
  state: LeadStateValues,
  config?: LangGraphRunnableConfig,
) => Promise<Partial<LeadStateValues>>;
