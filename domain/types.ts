/**
 * The lead's types, shared by the graph state, the ports and the pure rules: a lead as capture normalises
 * it, its enrichment, score and route, and what the owner is told. Types only; no I/O.
 *
 * Over 300 lines because it is types only: one place for every shape a lead takes through the graph.
 */

/**
 * The payload shape a lead arrived in: generic JSON, a HubSpot workflow or contact payload, a HubSpot app
 * webhook event (the contact is read from the CRM), a web form post, or a row of a list import.
 */
export const LEAD_SOURCES = [
  "generic",
  "hubspot-workflow",
  "hubspot-contact",
  "hubspot-event",
  "form",
  "import",
] as const;
export type LeadSource = (typeof LEAD_SOURCES)[number];

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
  /** Hash of the scoring.json version that scored. */
  configVersion?: string;
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

export type AssignmentKind = "owner" | "pool" | "account" | "contact" | "queue" | "fallback";

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
  /**
   * ISO time the owner's working hours start, when the lead was given to them outside those hours; an
   * acceptance clock (SLA) starts here rather than at routing time.
   */
  availableFrom?: string;
  /** Every rule tried and why it matched or not, then the assignment. */
  explanation: string[];
  /** The person's earlier route within the returning window: a returning lead (its message threads there). */
  previous?: PersonRoute;
  /** Hash of the routing.json version that decided (config/routing.ts `configVersion`). */
  configVersion?: string;
  /** The facts the rules looked at, so the decision can be replayed against another config (what-if). */
  facts?: RouteFacts;
}

/** The routing facts of a lead as stored with its route (domain/routing/facts.ts `RoutingFacts`). */
export interface RouteFacts {
  country?: string | undefined;
  region?: Region | undefined;
  state?: string | undefined;
  postalCode?: string | undefined;
  industry?: string | undefined;
  employees?: number | undefined;
  revenue?: number | undefined;
  tier?: Tier | undefined;
  source?: string | undefined;
  existingAccount?: boolean | undefined;
  /** The lead's email is a CRM contact that has an owner. */
  existingContact?: boolean | undefined;
  /** The person was routed to an owner within the returning window. */
  returning?: boolean | undefined;
  /** The CRM owner id of the existing account, for an `account` assignment. */
  accountOwnerCrmId?: string | undefined;
  /** The CRM owner id of the lead's contact, for a `contact` assignment. */
  contactOwnerCrmId?: string | undefined;
  /** The person's route within the returning window, for a `contact` assignment. */
  previous?: PersonRoute | undefined;
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
  /** CRM owner id LeadGraph wrote on the contact (it had none). */
  ownerSet?: string;
  /** The contact's own CRM owner id, left in place: an owned contact is never given another owner. */
  ownerKept?: string;
  noteId?: string;
  taskId?: string;
  nurtureStatus?: string;
}

export interface Issue {
  node: string;
  code: string;
  message: string;
}

/** Token and latency accounting for one LLM call. */
export interface LlmUsage {
  purpose: "score" | "summary";
  model: string;
  promptTokens: number;
  completionTokens: number;
  latencyMs: number;
}

/** What the model proposes for a grey-zone lead; grounded and clamped by scoreLead, never trusted as is. */
export interface LlmAssessment {
  adjustment: number;
  reasons: Array<{ text: string; evidence: Evidence[] }>;
  usage?: LlmUsage;
}

/** A past account as stored in fixtures/accounts.json and as vector metadata. */
export interface PastAccount {
  id: string;
  name: string;
  domain: string;
  industry: string;
  employees: number;
  country: string;
  region: string;
  outcome: "won" | "lost";
  arr: number;
  note: string;
}

/** The owner a person was last routed to: what makes their next lead a returning one (sticky ownership). */
export interface PersonRoute {
  ownerId: string;
  leadId: string;
  /** ISO time the lead was routed. */
  routedAt: string;
}

/**
 * Who each person was last routed to, keyed by `personKey` (a hash of the normalised email; the email itself
 * is never a key). Entries live as long as the returning window, then disappear.
 */
export interface RouteMemory {
  recall(personKey: string): Promise<PersonRoute | undefined>;
  /** Keeps `route` for `ttlSeconds`, replacing what was there. */
  remember(personKey: string, route: PersonRoute, ttlSeconds: number): Promise<void>;
}

/** Atomic counters the routing engine uses for round-robin and daily caps; the lead store backs them. */
export interface Counters {
  /** Atomically increments and returns the new value; `ttlSeconds` is set on creation. */
  increment(key: string, ttlSeconds?: number): Promise<number>;
  /**
   * Increments unless the value is already `limit` or more, as one atomic step: of two workers after an
   * owner's last slot under a daily cap, exactly one gets it. `value` is the count after the call;
   * `ttlSeconds` is set on creation, as in `increment`.
   */
  incrementBelow(key: string, limit: number, ttlSeconds?: number): Promise<{ taken: boolean; value: number }>;
  /** Gives one back (never below 0, keeping the TTL): a reserved slot whose assignment was abandoned. */
  decrement(key: string): Promise<number>;
  /** Reads without moving (routing preview). */
  get(key: string): Promise<number>;
}

/** One graph step, appended when the step ends. */
export interface TimelineEntry {
  /** Node id, e.g. "scoreLead". */
  node: string;
  /** ISO timestamp. */
  startedAt: string;
  /** ISO timestamp. */
  endedAt?: string;
  /** Filled in by the store from `startedAt`/`endedAt` when the caller leaves it out. */
  durationMs?: number;
  status: "ok" | "error";
  /** Error message when `status` is "error". */
  error?: string;
  /** What the step decided, in words: an owner's wait and how it ended, a hand-off and why. */
  detail?: string;
}
