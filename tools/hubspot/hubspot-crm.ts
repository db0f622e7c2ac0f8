/**
 * Over 300 lines because it is the whole HubSpot adapter of the Crm port (contacts, companies, owners, notes and tasks with their effect-key lookups), one vendor behind one retry policy.
 */
import { AssociationTypes, Client } from "@hubspot/api-client";
import type { ContactInput, Crm, CrmCompany, CrmContact, CrmContactOwner, CrmTaskInput } from "../ports.ts";
import {
  classifyHttpStatus,
  type ErrorClassification,
  isTimeoutError,
  type PolicyOverrides,
  parseRetryAfter,
  VendorCaller,
  VendorError,
  type VendorPolicy,
  vendorPolicy,
} from "../resilience.ts";

export interface HubSpotCrmOptions {
  /** Private-app access token. */
  accessToken: string;
  /** API origin; tests point it at a loopback fake. Default https://api.hubapi.com. */
  basePath?: string;
  /** Shared per-vendor caller; must be built from `hubspotPolicy()` (see the constructor). */
  caller?: VendorCaller;
  /** Routing owner id → HubSpot owner id, for setOwner and task owners; unmapped ids pass through. */
  ownerIdMap?: Record<string, string>;
  /** Contact property set by setNurtureStatus. Default `hs_lead_status`. */
  nurtureStatusProperty?: string;
  /** Custom contact property that receives the LeadGraph lead id; omitted when unset. */
  leadIdProperty?: string;
  /** The HubSpot account (portal, "Hub ID"): with it, `contactUrl` links the contact's record page. */
  portalId?: string;
  /** HubSpot's web app origin. Default https://app.hubspot.com (EU accounts: https://app-eu1.hubspot.com). */
  appUrl?: string;
  clock?: () => Date;
}

/** A HubSpot owner as listed by the owners API (for building `ownerIdMap` / `crmOwnerId`). */
export interface HubSpotOwner {
  id: string;
  email?: string;
  firstName?: string;
  lastName?: string;
  archived: boolean;
}

const companyProperties = [
  "name",
  "domain",
  "hubspot_owner_id",
  "industry",
  "numberofemployees",
  "annualrevenue",
  "country",
];

/** HTTP answer from HubSpot, reduced to fields that carry no personal data. */
export class HubSpotHttpError extends Error {
  override readonly name = "HubSpotHttpError";
  readonly code = "hubspot_http";
  readonly status: number;
  readonly category: string | undefined;
  readonly correlationId: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(status: number, info: { category?: string; correlationId?: string; retryAfterMs?: number }) {
    // HubSpot's error message can echo property values (emails, names): only status and category are kept.
    super(
      `HTTP ${status}${info.category ? ` ${info.category}` : ""}${info.correlationId ? ` (correlationId ${info.correlationId})` : ""}`,
    );
    this.status = status;
    this.category = info.category;
    this.correlationId = info.correlationId;
    this.retryAfterMs = info.retryAfterMs;
  }
}

/** HubSpot accepted the request but rejected the record (batch 207, empty result). Not worth retrying. */
export class HubSpotRejectedError extends Error {
  override readonly name = "HubSpotRejectedError";
  readonly code = "hubspot_rejected";
}

/** How HubSpot failures are retried; exported so the registry can build the shared caller. */
export function classifyHubSpotError(err: unknown): ErrorClassification {
  if (err instanceof HubSpotHttpError) return classifyHttpStatus(err.status, err.retryAfterMs);
  if (err instanceof HubSpotRejectedError)
    return { retryable: false, tripsCircuit: false, code: "http", status: 207 };
  if (isTimeoutError(err)) return { retryable: true, tripsCircuit: true, code: "timeout" };
  return { retryable: true, tripsCircuit: true, code: "network" };
}

export function hubspotPolicy(overrides: PolicyOverrides = {}): VendorPolicy {
  return vendorPolicy("hubspot", classifyHubSpotError, overrides);
}

/** Turns SDK and transport errors into ones safe to log (no request or response bodies). */
function sanitize(err: unknown): unknown {
  // The SDK's ApiException: numeric status in `code`, plus body and headers (a DOMException also
  // has a numeric `code`, so the shape is checked in full).
  if (
    err instanceof Error &&
    "code" in err &&
    typeof err.code === "number" &&
    "headers" in err &&
    "body" in err &&
    !(err instanceof DOMException)
  ) {
    const e = err as { code: number; body?: unknown; headers?: Record<string, string> };
    const body = (typeof e.body === "object" && e.body !== null ? e.body : {}) as {
      category?: unknown;
      correlationId?: unknown;
    };
    const retryAfterMs = parseRetryAfter(e.headers?.["retry-after"]);
    return new HubSpotHttpError(e.code, {
      ...(typeof body.category === "string" ? { category: body.category } : {}),
      ...(typeof body.correlationId === "string" ? { correlationId: body.correlationId } : {}),
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
  return err;
}

function toNumber(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined || value.trim() === "") return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

function compact(properties: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(properties)) {
    if (value !== undefined && value !== "") out[key] = value;
  }
  return out;
}

type CompaniesSearchApi = Client["crm"]["companies"]["searchApi"];
type ContactsBatchApi = Client["crm"]["contacts"]["batchApi"];
type ContactsBasicApi = Client["crm"]["contacts"]["basicApi"];
type NotesBasicApi = Client["crm"]["objects"]["notes"]["basicApi"];
type TasksBasicApi = Client["crm"]["objects"]["tasks"]["basicApi"];
type NotesSearchApi = Client["crm"]["objects"]["notes"]["searchApi"];
type TasksSearchApi = Client["crm"]["objects"]["tasks"]["searchApi"];
type OwnersApi = Client["crm"]["owners"]["ownersApi"];

type SearchRequest = Parameters<CompaniesSearchApi["doSearch"]>[0];
type FilterOperator = NonNullable<SearchRequest["filterGroups"]>[number]["filters"][number]["operator"];
type NoteInput = Parameters<NotesBasicApi["create"]>[0];
type AssociationCategory = NonNullable<
  NoteInput["associations"]
>[number]["types"][number]["associationCategory"];

// The generated string enums live in deep modules; their values are HubSpot's wire constants.
const EQ = "EQ" as FilterOperator;
const HUBSPOT_DEFINED = "HUBSPOT_DEFINED" as AssociationCategory;

/**
 * The last line of a note or task body written under a ledger key: `findNote`/`findTask` look for it
 * among the contact's notes or tasks. HubSpot has no idempotency key for creates, so this line is how a
 * create the ledger never recorded (the worker died after HubSpot stored it) is recognised.
 */
export function effectMarker(effectKey: string): string {
  return `LeadGraph ref: ${effectKey}`;
}

/** The marker as a whole line-end token: HubSpot may wrap the body in HTML, and `x:crm:task` is not `x:crm:task-2`. */
function carriesMarker(body: string | null | undefined, marker: string): boolean {
  if (!body) return false;
  for (let at = body.indexOf(marker); at >= 0; at = body.indexOf(marker, at + 1)) {
    if (!/^[\w:.-]/.test(body.slice(at + marker.length, at + marker.length + 1))) return true;
  }
  return false;
}

/** Notes or tasks of one contact looked through for a marker: 5 pages of 100, newest first. */
const SEARCH_PAGES = 5;
const SEARCH_PAGE_SIZE = 100;

/** HubSpot CRM through @hubspot/api-client, every call under the shared HubSpot VendorCaller. */
export class HubSpotCrm implements Crm {
  readonly name = "hubspot";
  readonly #caller: VendorCaller;
  readonly #ownerIdMap: Record<string, string>;
  readonly #nurtureStatusProperty: string;
  readonly #leadIdProperty: string | undefined;
  readonly #clock: () => Date;
  readonly #recordBase: string | undefined;
  readonly #companies: CompaniesSearchApi;
  readonly #contactsBatch: ContactsBatchApi;
  readonly #contacts: ContactsBasicApi;
  readonly #notes: NotesBasicApi;
  readonly #tasks: TasksBasicApi;
  readonly #notesSearch: NotesSearchApi;
  readonly #tasksSearch: TasksSearchApi;
  readonly #owners: OwnersApi;

  constructor(options: HubSpotCrmOptions) {
    this.#caller = options.caller ?? new VendorCaller(hubspotPolicy());
    if (this.#caller.policy.classify !== classifyHubSpotError) {
      // Another classify would not know HubSpotHttpError / HubSpotRejectedError (retrying a 400, say).
      throw new TypeError("HubSpotCrm needs a VendorCaller built from hubspotPolicy()");
    }
    this.#ownerIdMap = options.ownerIdMap ?? {};
    this.#nurtureStatusProperty = options.nurtureStatusProperty ?? "hs_lead_status";
    this.#leadIdProperty = options.leadIdProperty;
    this.#clock = options.clock ?? (() => new Date());
    this.#recordBase = options.portalId
      ? `${(options.appUrl ?? "https://app.hubspot.com").replace(/\/$/, "")}/contacts/${encodeURIComponent(options.portalId)}/record/0-1/`
      : undefined;
    // Retries are the VendorCaller's job (one budget, Retry-After honoured, breaker-aware).
    const client = new Client({
      accessToken: options.accessToken,
      numberOfApiCallRetries: 0,
      ...(options.basePath === undefined ? {} : { basePath: options.basePath }),
    });
    // The SDK keeps its retry/limiter decorators in a process-wide singleton that the next
    // `new Client()` overwrites, and applies them when an API is first touched: take ours now.
    this.#companies = client.crm.companies.searchApi;
    this.#contactsBatch = client.crm.contacts.batchApi;
    this.#contacts = client.crm.contacts.basicApi;
    this.#notes = client.crm.objects.notes.basicApi;
    this.#tasks = client.crm.objects.tasks.basicApi;
    this.#notesSearch = client.crm.objects.notes.searchApi;
    this.#tasksSearch = client.crm.objects.tasks.searchApi;
    this.#owners = client.crm.owners.ownersApi;
  }

  async findCompanyByDomain(domain: string): Promise<CrmCompany | null> {
    const wanted = domain.trim().toLowerCase();
    if (wanted === "") return null;
    const page = await this.#idempotent("findCompanyByDomain", () =>
      this.#companies.doSearch({
        filterGroups: [{ filters: [{ propertyName: "domain", operator: EQ, value: wanted }] }],
        properties: companyProperties,
        limit: 1,
      }),
    );
    const found = page.results[0];
    if (!found) return null;
    const p = found.properties;
    const company: CrmCompany = { id: found.id, name: p.name ?? wanted, domain: p.domain ?? wanted };
    const ownerId = p.hubspot_owner_id;
    if (ownerId) company.ownerId = ownerId;
    if (p.industry) company.industry = p.industry;
    const employees = toNumber(p.numberofemployees);
    if (employees !== undefined) company.employees = employees;
    const revenue = toNumber(p.annualrevenue);
    if (revenue !== undefined) company.revenue = revenue;
    if (p.country) company.country = p.country;
    return company;
  }

  async upsertContact(contact: ContactInput): Promise<{ contactId: string; created: boolean }> {
    const email = contact.email.trim().toLowerCase();
    const properties = compact({
      email,
      firstname: contact.firstName,
      lastname: contact.lastName,
      company: contact.company,
      jobtitle: contact.title,
      phone: contact.phone,
      country: contact.country,
      state: contact.state,
      website: contact.website,
      ...(this.#leadIdProperty ? { [this.#leadIdProperty]: contact.leadId } : {}),
    });
    // Batch upsert keyed by email is one idempotent request (search-then-create would race two
    // workers into duplicate contacts), and its `new` flag says whether HubSpot created the record.
    const result = await this.#idempotent("upsertContact", async () => {
      const response = await this.#contactsBatch.upsert({
        inputs: [{ idProperty: "email", id: email, properties }],
      });
      const first = response.results[0];
      if (!first) {
        const category = "errors" in response ? response.errors?.[0]?.category : undefined;
        throw new HubSpotRejectedError(`contact upsert rejected${category ? ` (${category})` : ""}`);
      }
      return first;
    });
    return { contactId: result.id, created: result._new };
  }

  async setOwner(contactId: string, crmOwnerId: string): Promise<void> {
    const ownerId = this.#ownerIdMap[crmOwnerId] ?? crmOwnerId;
    await this.#idempotent("setOwner", () =>
      this.#contacts.update(contactId, { properties: { hubspot_owner_id: ownerId } }),
    );
  }

  async addNote(contactId: string, body: string, effectKey?: string): Promise<{ noteId: string }> {
    const text = effectKey === undefined ? body : `${body}\n${effectMarker(effectKey)}`;
    const note = await this.#create("addNote", () =>
      this.#notes.create({
        properties: { hs_note_body: text, hs_timestamp: this.#clock().toISOString() },
        associations: [
          {
            to: { id: contactId },
            types: [
              { associationCategory: HUBSPOT_DEFINED, associationTypeId: AssociationTypes.noteToContact },
            ],
          },
        ],
      }),
    );
    return { noteId: note.id };
  }

  async createTask(contactId: string, task: CrmTaskInput): Promise<{ taskId: string }> {
    const due = new Date(task.dueAt);
    if (Number.isNaN(due.getTime())) throw new RangeError("createTask: dueAt is not a valid date");
    const ownerId = task.ownerId === undefined ? undefined : (this.#ownerIdMap[task.ownerId] ?? task.ownerId);
    const created = await this.#create("createTask", () =>
      this.#tasks.create({
        properties: compact({
          hs_task_subject: task.subject,
          hs_task_body:
            task.effectKey === undefined ? task.body : `${task.body}\n${effectMarker(task.effectKey)}`,
          hs_timestamp: due.toISOString(),
          hs_task_status: "NOT_STARTED",
          hubspot_owner_id: ownerId,
        }),
        associations: [
          {
            to: { id: contactId },
            types: [
              { associationCategory: HUBSPOT_DEFINED, associationTypeId: AssociationTypes.taskToContact },
            ],
          },
        ],
      }),
    );
    return { taskId: created.id };
  }

  async findNote(contactId: string, effectKey: string): Promise<{ noteId: string } | null> {
    const id = await this.#findMarked("findNote", this.#notesSearch, "hs_note_body", contactId, effectKey);
    return id === null ? null : { noteId: id };
  }

  async findTask(contactId: string, effectKey: string): Promise<{ taskId: string } | null> {
    const id = await this.#findMarked("findTask", this.#tasksSearch, "hs_task_body", contactId, effectKey);
    return id === null ? null : { taskId: id };
  }

  /**
   * The id of the contact's note or task whose body ends with the effect's marker: the CRM search API,
   * filtered by association to the contact, newest first. HubSpot's search index trails writes by a few
   * seconds; a look-up follows a lease (30 s) or a queue backoff, so the write it looks for is indexed.
   */
  async #findMarked(
    operation: string,
    api: NotesSearchApi | TasksSearchApi,
    bodyProperty: string,
    contactId: string,
    effectKey: string,
  ): Promise<string | null> {
    const marker = effectMarker(effectKey);
    let after: string | undefined;
    for (let page = 0; page < SEARCH_PAGES; page++) {
      const from = after;
      const found = await this.#idempotent(operation, () =>
        api.doSearch({
          filterGroups: [
            { filters: [{ propertyName: "associations.contact", operator: EQ, value: contactId }] },
          ],
          properties: [bodyProperty],
          sorts: ["-hs_createdate"],
          limit: SEARCH_PAGE_SIZE,
          ...(from ? { after: from } : {}),
        }),
      );
      const hit = found.results.find((r) => carriesMarker(r.properties[bodyProperty], marker));
      if (hit) return hit.id;
      after = found.paging?.next?.after;
      if (!after) return null;
    }
    return null;
  }

  async setNurtureStatus(contactId: string, status: string): Promise<void> {
    await this.#idempotent("setNurtureStatus", () =>
      this.#contacts.update(contactId, { properties: { [this.#nurtureStatusProperty]: status } }),
    );
  }

  /**
   * GET by the email property rather than the search API: a read by unique property sees a contact created
   * a moment ago (search lags behind writes by seconds), and it is not under search's tighter rate limit.
   */
  async findContactByEmail(email: string): Promise<CrmContactOwner | null> {
    const wanted = email.trim().toLowerCase();
    if (wanted === "") return null;
    try {
      const found = await this.#idempotent("findContactByEmail", () =>
        this.#contacts.getById(wanted, ["hubspot_owner_id"], undefined, undefined, false, "email"),
      );
      const ownerId = found.properties.hubspot_owner_id;
      return ownerId ? { id: found.id, ownerId } : { id: found.id };
    } catch (err) {
      if (err instanceof VendorError && err.status === 404) return null;
      throw err;
    }
  }

  /** The contact's record page: `<app>/contacts/<portal>/record/0-1/<contact id>` (0-1 is HubSpot's contact type). */
  contactUrl(contactId: string): string | undefined {
    return this.#recordBase ? `${this.#recordBase}${encodeURIComponent(contactId)}` : undefined;
  }

  async getContact(contactId: string, properties: readonly string[]): Promise<CrmContact | null> {
    try {
      const found = await this.#idempotent("getContact", () =>
        this.#contacts.getById(contactId, [...properties], undefined, undefined, false),
      );
      // HubSpot answers unset properties as null.
      const values: Record<string, string> = {};
      for (const [key, value] of Object.entries(found.properties)) {
        if (typeof value === "string" && value !== "") values[key] = value;
      }
      return { id: found.id, properties: values };
    } catch (err) {
      // 404 is an answer (no such contact), not a failure: the caller decides what a missing contact means.
      if (err instanceof VendorError && err.status === 404) return null;
      throw err;
    }
  }

  /** Active owners, for RevOps to map routing owners to HubSpot owner ids. Not part of the port. */
  async listOwners(): Promise<HubSpotOwner[]> {
    const owners: HubSpotOwner[] = [];
    let after: string | undefined;
    do {
      const cursor = after;
      const page = await this.#idempotent("listOwners", () =>
        this.#owners.getPage(undefined, cursor, 100, false),
      );
      for (const o of page.results) {
        owners.push({
          id: o.id,
          archived: o.archived,
          ...(o.email ? { email: o.email } : {}),
          ...(o.firstName ? { firstName: o.firstName } : {}),
          ...(o.lastName ? { lastName: o.lastName } : {}),
        });
      }
      after = page.paging?.next?.after;
    } while (after);
    return owners;
  }

  /** Reads and idempotent writes (upsert by email, PATCH): any retryable failure is retried. */
  #idempotent<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return this.#call(operation, fn, true);
  }

  /**
   * Creates (note, task): HubSpot has no idempotency key for them, so a retry after the request
   * may have landed would create a duplicate the AE then sees twice. The caller retries them only
   * on a 429 or a connection that was never made.
   */
  #create<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return this.#call(operation, fn, false);
  }

  /**
   * The SDK takes no AbortSignal (its generated per-call `httpApi` option is ignored by the
   * observable layer in 14.x), so the attempt is only raced against the signal by the caller. The
   * abandoned request lives on until HubSpot answers or undici's own timeout ends it; the breaker
   * opens on repeated timeouts, which bounds how many pile up during an outage.
   */
  #call<T>(operation: string, fn: () => Promise<T>, idempotent: boolean): Promise<T> {
    return this.#caller.call(
      operation,
      async () => {
        try {
          return await fn();
        } catch (err) {
          throw sanitize(err);
        }
      },
      { idempotent },
    );
  }
}
