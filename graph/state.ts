import { Annotation } from "@langchain/langgraph";
import type { LeadStateValues } from "../domain/snapshot.ts";
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
} from "../domain/types.ts";

/** Appends: a node returns only its new items (warnings, errors, LLM usage). */
export function appendItems<T>(left: T[], right: T[] | undefined): T[] {
  return right && right.length > 0 ? left.concat(right) : left;
}

/** Shallow-merges CRM ids written by syncCrm and nurtureLead. */
export function mergeCrm(left: CrmSync, right: CrmSync | undefined): CrmSync {
  return right ? { ...left, ...right } : left;
}

/**
 * A field that is absent until a node writes it. A plain `Annotation<T>` channel throws an internal
 * EmptyChannelError on every read while unset, which LangGraph catches; starting from `undefined` avoids
 * that cost on every step.
 */
function optional<T>() {
  return Annotation<T | undefined>({ reducer: (_left, right) => right, default: () => undefined });
}

export const LeadStateAnnotation = Annotation.Root({
  /** Stable id of the lead; also the checkpoint thread id. */
  leadId: Annotation<string>,
  /** ISO timestamp of intake. */
  receivedAt: Annotation<string>,
  /** Payload shape detected by capture (or forced by ?source=). */
  source: optional<LeadSource>(),
  /** The payload exactly as received. */
  raw: Annotation<unknown>,
  /** The normalised lead written by capture. */
  lead: optional<NormalizedLead>(),
  /** Enriched values with provenance per field. */
  enrichment: optional<Enrichment>(),
  /** Rule score, optional LLM adjustment, tier and reasons. */
  score: optional<Score>(),
  /** Owner or queue, the rule that matched, and why. */
  route: optional<Route>(),
  /** Which branch the lead takes after routing. */
  path: optional<LeadPath>(),
  /** Most similar past accounts with their outcomes. */
  similarAccounts: Annotation<SimilarAccount[]>({ reducer: (_l, r) => r, default: () => [] }),
  /** AE-facing summary. */
  summary: optional<Summary>(),
  /** Messages sent to owners. */
  notifications: Annotation<NotificationRecord[]>({ reducer: (_l, r) => r, default: () => [] }),
  /** CRM ids written by syncCrm / nurtureLead. */
  crm: Annotation<CrmSync>({ reducer: mergeCrm, default: () => ({}) }),
  /** Degradations the lead survived (enrichment miss, LLM off, ...). */
  warnings: Annotation<Issue[]>({ reducer: appendItems<Issue>, default: () => [] }),
  /** Failures recorded on the lead. */
  errors: Annotation<Issue[]>({ reducer: appendItems<Issue>, default: () => [] }),
  /** LLM calls made for this lead: purpose, model, tokens, latency. */
  llmUsage: Annotation<LlmUsage[]>({ reducer: appendItems<LlmUsage>, default: () => [] }),
});

export type LeadState = typeof LeadStateAnnotation.State;

/** True when two types are the same both ways round. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
// Compile-time: the channels hold exactly domain/'s LeadStateValues, which the nodes are typed against.
true satisfies Same<LeadState, LeadStateValues>;
export type LeadUpdate = typeof LeadStateAnnotation.Update;

/** The input a run starts from. */
export interface LeadInput {
  leadId: string;
  receivedAt: string;
  raw: unknown;
  /** Forces a payload adapter instead of detection. */
  source?: LeadSource;
}
