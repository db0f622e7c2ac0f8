import { Annotation, EmptyChannelError } from "@langchain/langgraph";
import { BaseChannel } from "@langchain/langgraph/channels";
import type { OwnerResume, Ownership } from "../domain/ownership.ts";
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
 * The channel of a field that is absent until a node writes it: the last value written wins. LangGraph's
 * own channels throw an EmptyChannelError on every read while unset (a reducer channel with an undefined
 * default too), which LangGraph catches; every node reads every field, so an early node paid for an Error
 * and its stack trace per unset field. This one reads as undefined instead. Its checkpoint is what the
 * reducer channel's was (nothing while unset), so stored checkpoints do not change.
 */
export class OptionalValue<T> extends BaseChannel<T | undefined, T | undefined, T | undefined> {
  lc_graph_name = "OptionalValue";
  value: T | undefined;

  fromCheckpoint(checkpoint?: T): this {
    const channel = new OptionalValue<T>();
    channel.value = checkpoint;
    return channel as this;
  }

  update(values: Array<T | undefined>): boolean {
    if (values.length === 0) return false;
    this.value = values[values.length - 1];
    return true;
  }

  get(): T | undefined {
    return this.value;
  }

  checkpoint(): T | undefined {
    if (this.value === undefined) throw new EmptyChannelError();
    return this.value;
  }

  override isAvailable(): boolean {
    return this.value !== undefined;
  }

  override equals(other: BaseChannel): boolean {
    return other instanceof OptionalValue;
  }
}

function optional<T>() {
  return new OptionalValue<T>();
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
  /** Who holds the lead after the message: waiting, accepted or declined, and every hand-off. */
  ownership: optional<Ownership>(),
  /** The action or timer that ended the last wait, until applyDecision has acted on it. */
  decision: optional<OwnerResume>(),
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
