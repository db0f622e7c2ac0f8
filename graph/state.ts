import { Annotation } from "@langchain/langgraph";
import type { LlmUsage } from "../tools/ports.ts";

/** Where a lead came from, as detected by capture. */
export type LeadSource = "generic" | "hubspot-workflow" | "hubspot-contact";

/** ISO-3166 region buckets used by routing and scoring. */
export type Region = "NA" | "EMEA" | "APAC" | "LATAM";

/** A lead after capture: every field normalised, nothing guessed. */
export interface NormalizedLead {
  /** Lower-cased, syntactically valid email address. */
  email: string;
  /** Domain part of the email, lower-cased. */
  emailDomain: string;
  firstName?: string;
  lastName?: string;
  fullName?: string;
  company?: string;
  /** Registrable company domain (from website, else from a non-free email). */
  companyDomain?: string;
  title?: string;
  /** ISO-3166 alpha-2 country code. */
  country?: string;
  /** Region derived from the country. */
  region?: Region;
  /** US state or CA province code (e.g. "CA", "ON"); free text elsewhere. */
  state?: string;
  postalCode?: string;
  /** Phone number in E.164. */
  phone?: string;
  /** Channel the lead arrived through (e.g. "web", "partner", "event"); lower-case. */
  source: string;
  campaign?: string;
  form?: string;
  message?: string;
  /** utm_* parameters without the prefix (source, medium, campaign, term, content). */
  utm: Record<string, string>;
  /** HubSpot contact id when the payload came from HubSpot. */
  hubspotContactId?: string;
}

export type Seniority = "c-level" | "vp" | "director" | "manager" | "individual";

/** Enriched facts about the lead and its company. */
export interface EnrichmentValues {
  freeMail?: boolean;
  disposable?: boolean;
  seniority?: Seniority;
  department?: string;
  companyName?: string;
  industry?: string;
  employees?: number;
  /** Annual revenue in USD. */
  revenue?: number;
  country?: string;
  techStack?: string[];
}

export type EnrichmentField = keyof EnrichmentValues;

/** Which enricher supplied a field. */
export interface Provenance {
  /** Enricher name, e.g. "derived", "firmographics", "hubspot". */
  source: string;
  /** 0..1 confidence the enricher gives the value. */
  confidence: number;
}

export interface Enrichment {
  values: EnrichmentValues;
  provenance: Partial<Record<EnrichmentField, Provenance>>;
}

export type Tier = "hot" | "warm" | "cold";

/** One reason behind a score, always naming the field and value it rests on. */
export interface ScoreReason {
  /** Dotted path of the field, e.g. "enrichment.industry" or "lead.form". */
  field: string;
  value: string | number | boolean;
  points: number;
  text: string;
}

export interface Evidence {
  field: string;
  value: string | number | boolean;
}

export interface LlmScoring {
  /** Adjustment after clamping to the configured bound. */
  adjustment: number;
  /** Adjustment as proposed by the model, before clamping. */
  proposed: number;
  reasons: string[];
  evidence: Evidence[];
  model: string;
}

export interface Score {
  /** Final score, 0..100. */
  value: number;
  tier: Tier;
  /** Score from the rules alone. */
  ruleScore: number;
  /** True when the rule score fell in the grey zone of scoring.json. */
  greyZone: boolean;
  /** The LLM's grounded contribution, when it was consulted and its answer held. */
  llm?: LlmScoring;
  reasons: ScoreReason[];
  evidence: Evidence[];
}

export type AssignmentKind = "owner" | "pool" | "account" | "queue" | "fallback";

export interface Route {
  /** Owner id from routing.json; absent when the lead went to a queue. */
  ownerId?: string;
  /** Queue id when the assignment is a queue. */
  queue?: string;
  /** Name of the rule that matched, or "fallback". */
  ruleName: string;
  kind: AssignmentKind;
  /** Pool id when the owner was picked by round-robin. */
  pool?: string;
  /** Every rule tried and why it matched or not, then the assignment. */
  explanation: string[];
}

export type LeadPath = "qualified" | "review" | "nurture";

export interface SimilarAccount {
  id: string;
  name: string;
  domain: string;
  industry: string;
  country: string;
  employees: number;
  outcome: "won" | "lost";
  arr: number;
  note: string;
  /** Cosine similarity, 0..1. */
  similarity: number;
}

export interface Summary {
  bullets: string[];
  /** "template" or the model name. */
  generatedBy: string;
}

export interface NotificationRecord {
  adapter: string;
  /** Slack channel id, outbox name, ... */
  channel: string;
  /** Message id (Slack ts, outbox sequence). */
  messageId: string;
  ownerId?: string;
  at: string;
}

export interface CrmSync {
  contactId?: string;
  ownerSet?: string;
  noteId?: string;
  taskId?: string;
  nurtureStatus?: string;
}

export interface Issue {
  node: string;
  code: string;
  message: string;
}

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
export type LeadUpdate = typeof LeadStateAnnotation.Update;

/** The input a run starts from. */
export interface LeadInput {
  leadId: string;
  receivedAt: string;
  raw: unknown;
  /** Forces a payload adapter instead of detection. */
  source?: LeadSource;
}
