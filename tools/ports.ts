/**
 * Ports: one interface per external capability. Nodes depend on these only;
 * `tools/registry.ts` picks an adapter for each from the parsed environment.
 */

import type { MessageBody, MessageTarget } from "../domain/owner-message.ts";
import type {
  Enrichment,
  EnrichmentValues,
  LlmAssessment,
  LlmUsage,
  NormalizedLead,
  PastAccount,
} from "../domain/types.ts";

export type { Block } from "../domain/owner-message.ts";
export type { Counters, LlmAssessment, LlmUsage, PastAccount } from "../domain/types.ts";

// ---------------------------------------------------------------- LLM

export interface LlmSummary {
  bullets: string[];
  usage?: LlmUsage;
}

export interface Llm {
  readonly name: string;
  /** False for the embedded "not configured" adapter: nodes then use rules and templates only. */
  readonly configured: boolean;
  /** `system` holds the rubric; `data` holds the lead as delimited data, never instructions. */
  assessLead(input: { system: string; data: string }): Promise<LlmAssessment>;
  summarizeLead(input: { system: string; data: string }): Promise<LlmSummary>;
}

// ---------------------------------------------------------------- Embeddings and vector index

export interface Embedder {
  readonly name: string;
  readonly dimension: number;
  embed(texts: string[]): Promise<number[][]>;
}

export interface VectorMatch {
  id: string;
  score: number;
  account: PastAccount;
}

/** Equality filters on account metadata (e.g. `{ region: "EMEA", outcome: "won" }`). */
export type AccountFilter = Partial<Pick<PastAccount, "region" | "outcome" | "industry" | "country">>;

export interface VectorIndex {
  readonly name: string;
  upsert(records: Array<{ id: string; values: number[]; account: PastAccount }>): Promise<void>;
  query(vector: number[], options: { topK: number; filter?: AccountFilter }): Promise<VectorMatch[]>;
}

// ---------------------------------------------------------------- CRM

export interface CrmCompany {
  id: string;
  name: string;
  domain: string;
  /** The CRM's owner id (a HubSpot owner id); routing maps it to an owner via `crmOwnerId`. */
  ownerId?: string;
  industry?: string;
  employees?: number;
  revenue?: number;
  country?: string;
}

export interface ContactInput {
  email: string;
  firstName?: string;
  lastName?: string;
  company?: string;
  title?: string;
  phone?: string;
  country?: string;
  state?: string;
  website?: string;
  leadId: string;
}

/** A contact as the CRM holds it: its id and properties under the CRM's own names (HubSpot's internal names). */
export interface CrmContact {
  id: string;
  properties: Record<string, string>;
}

/** Who owns the CRM contact with an email (lead-to-contact matching, sticky ownership). */
export interface CrmContactOwner {
  id: string;
  /** The CRM's owner id (a HubSpot owner id); absent when the contact has no owner. */
  ownerId?: string;
}

export interface CrmTaskInput {
  subject: string;
  body: string;
  dueAt: string;
  /** The CRM owner id the task is assigned to. */
  ownerId?: string;
  /** The ledger key of this write; the task carries it so `findTask` can find it after a crash. */
  effectKey?: string;
}

export interface Crm {
  readonly name: string;
  findCompanyByDomain(domain: string): Promise<CrmCompany | null>;
  /** The contact with this email (compared lower-case) and its owner; null when the CRM has none. */
  findContactByEmail(email: string): Promise<CrmContactOwner | null>;
  /** Creates or updates the contact keyed by email (idempotent); returns its id. */
  upsertContact(contact: ContactInput): Promise<{ contactId: string; created: boolean }>;
  setOwner(contactId: string, crmOwnerId: string): Promise<void>;
  /** A note on the contact; with `effectKey` the note carries it, so `findNote` can find it again. */
  addNote(contactId: string, body: string, effectKey?: string): Promise<{ noteId: string }>;
  /** The contact's note written with `effectKey`, if there is one. */
  findNote(contactId: string, effectKey: string): Promise<{ noteId: string } | null>;
  createTask(contactId: string, task: CrmTaskInput): Promise<{ taskId: string }>;
  /** The contact's task written with `effectKey`, if there is one. */
  findTask(contactId: string, effectKey: string): Promise<{ taskId: string } | null>;
  setNurtureStatus(contactId: string, status: string): Promise<void>;
  /** The contact with `properties` (those it has), or null when the CRM has no such contact. */
  getContact(contactId: string, properties: readonly string[]): Promise<CrmContact | null>;
  /** The contact's page in the CRM's own app, for people (the owner's message); absent when it has none. */
  contactUrl?(contactId: string): string | undefined;
}

// ---------------------------------------------------------------- Notifier

/** One message to an owner or a queue: where it goes and what it says (laid out by domain/owner-message.ts). */
export interface OwnerMessage extends MessageTarget, MessageBody {
  leadId: string;
  /** The ledger key of this post; the message carries it (Slack message metadata) so `findPosted` can find it. */
  effectKey?: string;
  /** Posts as a reply in this message's thread (a reminder) instead of a new conversation. */
  thread?: PostedMessage;
}

export interface PostedMessage {
  channel: string;
  /** Slack `ts`, or the outbox sequence number. */
  messageId: string;
}

export interface Notifier {
  readonly name: string;
  /** Posts a new message; with `previous`, updates that message instead of posting again. */
  send(message: OwnerMessage, previous?: PostedMessage): Promise<PostedMessage>;
  /**
   * The message posted earlier with `message.effectKey` to `message`'s target, found by its metadata among
   * the messages posted there since `after`; null when there is none.
   */
  findPosted(message: OwnerMessage, after: Date): Promise<PostedMessage | null>;
  /**
   * The chat user with this email (Slack: users.lookupByEmail), null when there is none. A notifier that
   * reaches people in person has it: a click on an owner's message then counts only from that owner.
   */
  userIdOf?(email: string): Promise<string | null>;
}

// ---------------------------------------------------------------- Enrichment

export interface EnricherResult {
  values: EnrichmentValues;
  /** Confidence per field, default 1. */
  confidence?: Partial<Record<keyof EnrichmentValues, number>>;
}

export interface Enricher {
  readonly name: string;
  /** Returns what this source knows; `null` when it knows nothing. Throwing degrades the lead with a warning. */
  enrich(lead: NormalizedLead, soFar: Enrichment): Promise<EnricherResult | null>;
}

// ---------------------------------------------------------------- Ledger (backed by the lead store; Counters are the routing engine's, in domain/)

/** What `Ledger.once` tells the effect it runs. */
export interface EffectAttempt {
  /**
   * An earlier attempt at this key started and recorded no result: it failed, or its worker died (the lease
   * ran out), possibly after the vendor had acted. Look the effect up by its key before writing it again.
   */
  mayExist: boolean;
}

/**
 * Exactly-once side effects (docs/architecture.md, "Exactly-once side effects"). Keys are
 * `<leadId>:<effect>`: retention deletes a lead's keys with the lead.
 */
export interface Ledger {
  /** Runs `fn` the first time `key` is seen and stores its JSON result; later calls return the stored result. */
  once<T>(key: string, fn: (attempt: EffectAttempt) => Promise<T>): Promise<T>;
  /** The stored result for `key`, if any. */
  get<T>(key: string): Promise<T | undefined>;
}

// ---------------------------------------------------------------- Logging

/** The subset of pino the graph uses; structured fields only, never personal data. */
export interface Logger {
  info(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
  error(obj: Record<string, unknown>, msg?: string): void;
  debug(obj: Record<string, unknown>, msg?: string): void;
}
