import type { OwnerResume, Ownership } from "./ownership.ts";
import type {
  CrmSync,
  Enrichment,
  Issue,
  LeadPath,
  LeadSource,
  LlmUsage,
  NormalizedLead,
  NotificationRecord,
  Route,
  Score,
  SimilarAccount,
  Summary,
} from "./types.ts";

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

/**
 * Every field of the lead's graph state, as plain data. graph/state.ts defines the LangGraph channels and
 * checks at compile time that their state is exactly this; nodes are typed against it, so they depend on
 * domain/ and the ports, not on the graph that wires them.
 */
export interface LeadStateValues extends LeadSnapshot {
  receivedAt: string;
  source: LeadSource | undefined;
  raw: unknown;
  lead: NormalizedLead | undefined;
  enrichment: Enrichment | undefined;
  score: Score | undefined;
  route: Route | undefined;
  path: LeadPath | undefined;
  summary: Summary | undefined;
  notifications: NotificationRecord[];
  crm: CrmSync;
  warnings: Issue[];
  errors: Issue[];
  llmUsage: LlmUsage[];
  ownership: Ownership | undefined;
  decision: OwnerResume | undefined;
}

/** A step that runs after capture can rely on the normalised lead; its absence is a wiring bug. */
export function requireLead(state: Pick<LeadSnapshot, "lead">, node: string): NormalizedLead {
  if (!state.lead) throw new Error(`${node}: state.lead is missing (capture did not run)`);
  return state.lead;
}
