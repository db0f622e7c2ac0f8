import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { z } from "zod";
import type { ContactInput, Crm, CrmCompany, CrmContact, CrmContactOwner, CrmTaskInput } from "../ports.ts";
import { JsonlFile } from "./jsonl-file.ts";

export interface LocalCrmOptions {
  /** Directory of the append-only `crm.jsonl`; in memory only when absent. */
  dataDir?: string;
  /** Companies `findCompanyByDomain` knows (e.g. fixtures/crm-companies.json). */
  seedCompanies?: CrmCompany[];
  clock?: () => Date;
}

/** A contact as the local CRM keeps it: what was upserted, plus what later writes set. */
export interface LocalContact extends ContactInput {
  id: string;
  ownerId?: string;
  nurtureStatus?: string;
  createdAt: string;
  updatedAt: string;
}

export interface LocalNote {
  id: string;
  contactId: string;
  body: string;
  createdAt: string;
}

export interface LocalTask {
  id: string;
  contactId: string;
  subject: string;
  body: string;
  dueAt: string;
  ownerId?: string;
  status: "NOT_STARTED";
  createdAt: string;
}

type ContactFields = Omit<ContactInput, "email" | "leadId">;

/** One line of crm.jsonl. */
type LogRecord =
  | { type: "init"; v: 1; salt: string; at: string }
  | { type: "contact"; id: string; email: string; leadId: string; fields: ContactFields; at: string }
  | { type: "owner"; contactId: string; ownerId: string; at: string }
  | { type: "nurture"; contactId: string; status: string; at: string }
  | { type: "note"; id: string; contactId: string; body: string; at: string }
  | {
      type: "task";
      id: string;
      contactId: string;
      subject: string;
      body: string;
      dueAt: string;
      ownerId?: string;
      at: string;
    };

export class LocalCrmError extends Error {
  override readonly name = "LocalCrmError";
  readonly code: "unknown_contact";

  constructor(code: "unknown_contact", message: string) {
    super(message);
    this.code = code;
  }
}

const SeedSchema = z.array(
  z.object({
    id: z.union([z.string().min(1), z.number()]).transform(String),
    name: z.string().min(1),
    domain: z.string().min(1),
    ownerId: z
      .union([z.string().min(1), z.number()])
      .transform(String)
      .nullish(),
    industry: z.string().min(1).nullish(),
    employees: z.number().nonnegative().nullish(),
    revenue: z.number().nonnegative().nullish(),
    country: z.string().min(1).nullish(),
  }),
);

/**
 * Reads the local CRM's company table (fixtures/crm-companies.json); throws naming the bad entry.
 * Synchronous like the other startup loaders: it runs once, before the service takes traffic.
 */
export function loadCrmSeed(path: string): CrmCompany[] {
  const parsed = SeedSchema.safeParse(JSON.parse(readFileSync(path, "utf8")));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? `[${issue.path.join("].[")}]: ${issue.message}` : "invalid";
    throw new Error(`${path}: not a list of CRM companies at ${where}`);
  }
  return parsed.data.map((c) => {
    const company: CrmCompany = { id: c.id, name: c.name, domain: normalizeDomain(c.domain) };
    if (c.ownerId != null) company.ownerId = c.ownerId;
    if (c.industry != null) company.industry = c.industry;
    if (c.employees != null) company.employees = c.employees;
    if (c.revenue != null) company.revenue = c.revenue;
    if (c.country != null) company.country = c.country;
    return company;
  });
}

function normalizeDomain(domain: string): string {
  return domain
    .trim()
    .toLowerCase()
    .replace(/^www\./, "");
}

const contactFieldNames = [
  "firstName",
  "lastName",
  "company",
  "title",
  "phone",
  "country",
  "state",
  "website",
] as const satisfies ReadonlyArray<keyof ContactFields>;

/** The HubSpot contact property each local field corresponds to. */
const HUBSPOT_NAMES: Record<(typeof contactFieldNames)[number], string> = {
  firstName: "firstname",
  lastName: "lastname",
  company: "company",
  title: "jobtitle",
  phone: "phone",
  country: "country",
  state: "state",
  website: "website",
};

/**
 * The embedded CRM: contacts, notes and tasks in an append-only JSON-lines log, replayed on open
 * and re-read before every operation, so two processes on one data directory see each other.
 *
 * Contact ids are an HMAC of the email under a per-store salt (the log's first `init` line), so
 * every process derives the same id for an email without a lock, and ids do not reveal emails.
 */
export class LocalCrm implements Crm {
  readonly name = "local";
  readonly #log: JsonlFile<LogRecord> | undefined;
  readonly #clock: () => Date;
  readonly #companies = new Map<string, CrmCompany>();
  readonly #contacts = new Map<string, LocalContact>();
  readonly #notes: LocalNote[] = [];
  readonly #tasks: LocalTask[] = [];
  #salt: string | undefined;
  /** Bytes of the log already applied. */
  #offset = 0;
  #opened = false;
  /** Serialises this instance's operations; other processes are handled by the log itself. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: LocalCrmOptions = {}) {
    this.#log =
      options.dataDir === undefined ? undefined : new JsonlFile(options.dataDir, "crm.jsonl", "local crm");
    this.#clock = options.clock ?? (() => new Date());
    for (const company of options.seedCompanies ?? []) {
      const domain = normalizeDomain(company.domain);
      // First entry wins, as in the firmographics table.
      if (!this.#companies.has(domain)) this.#companies.set(domain, { ...company, domain });
    }
    if (this.#log === undefined) this.#salt = randomBytes(16).toString("hex");
  }

  async findCompanyByDomain(domain: string): Promise<CrmCompany | null> {
    const found = this.#companies.get(normalizeDomain(domain));
    return found ? { ...found } : null;
  }

  upsertContact(contact: ContactInput): Promise<{ contactId: string; created: boolean }> {
    return this.#exclusive(async () => {
      const email = contact.email.trim().toLowerCase();
      const id = this.#contactId(email);
      const created = !this.#contacts.has(id);
      const fields: ContactFields = {};
      for (const name of contactFieldNames) {
        const value = contact[name];
        if (value !== undefined && value !== "") fields[name] = value;
      }
      await this.#append({ type: "contact", id, email, leadId: contact.leadId, fields, at: this.#now() });
      return { contactId: id, created };
    });
  }

  setOwner(contactId: string, crmOwnerId: string): Promise<void> {
    return this.#exclusive(async () => {
      this.#requireContact(contactId);
      await this.#append({ type: "owner", contactId, ownerId: crmOwnerId, at: this.#now() });
    });
  }

  addNote(contactId: string, body: string): Promise<{ noteId: string }> {
    return this.#exclusive(async () => {
      this.#requireContact(contactId);
      const id = `ln-${randomUUID()}`;
      await this.#append({ type: "note", id, contactId, body, at: this.#now() });
      return { noteId: id };
    });
  }

  createTask(contactId: string, task: CrmTaskInput): Promise<{ taskId: string }> {
    return this.#exclusive(async () => {
      this.#requireContact(contactId);
      const id = `lt-${randomUUID()}`;
      await this.#append({
        type: "task",
        id,
        contactId,
        subject: task.subject,
        body: task.body,
        dueAt: task.dueAt,
        ...(task.ownerId === undefined ? {} : { ownerId: task.ownerId }),
        at: this.#now(),
      });
      return { taskId: id };
    });
  }

  setNurtureStatus(contactId: string, status: string): Promise<void> {
    return this.#exclusive(async () => {
      this.#requireContact(contactId);
      await this.#append({ type: "nurture", contactId, status, at: this.#now() });
    });
  }

  findContactByEmail(email: string): Promise<CrmContactOwner | null> {
    return this.#exclusive(async () => {
      const contact = this.#contacts.get(this.#contactId(email.trim().toLowerCase()));
      if (!contact) return null;
      return contact.ownerId ? { id: contact.id, ownerId: contact.ownerId } : { id: contact.id };
    });
  }

  /** A local contact under HubSpot's property names, so a contact reads the same from either CRM. */
  getContact(contactId: string, properties: readonly string[]): Promise<CrmContact | null> {
    return this.#exclusive(async () => {
      const contact = this.#contacts.get(contactId);
      if (!contact) return null;
      const all: Record<string, string | undefined> = {
        email: contact.email,
        hs_object_id: contact.id,
        ...Object.fromEntries(contactFieldNames.map((name) => [HUBSPOT_NAMES[name], contact[name]])),
      };
      const wanted: Record<string, string> = {};
      for (const name of properties) {
        const value = all[name];
        if (value !== undefined) wanted[name] = value;
      }
      return { id: contact.id, properties: wanted };
    });
  }

  /** Every contact, including other processes' writes (tests, admin). */
  contacts(): Promise<LocalContact[]> {
    return this.#exclusive(async () => [...this.#contacts.values()].map((c) => ({ ...c })));
  }

  notes(): Promise<LocalNote[]> {
    return this.#exclusive(async () => this.#notes.map((n) => ({ ...n })));
  }

  tasks(): Promise<LocalTask[]> {
    return this.#exclusive(async () => this.#tasks.map((t) => ({ ...t })));
  }

  #now(): string {
    return this.#clock().toISOString();
  }

  #contactId(email: string): string {
    if (this.#salt === undefined) throw new Error("local crm: store not initialised");
    return `lc-${createHmac("sha256", this.#salt).update(email).digest("hex").slice(0, 24)}`;
  }

  #requireContact(contactId: string): void {
    if (!this.#contacts.has(contactId)) {
      throw new LocalCrmError("unknown_contact", `local crm: no contact ${contactId}`);
    }
  }

  /** Runs `fn` after this instance's earlier operations, on a view caught up with the log. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(async () => {
      await this.#open();
      await this.#catchUp();
      return fn();
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #open(): Promise<void> {
    if (this.#opened || this.#log === undefined) return;
    await this.#log.prepare();
    await this.#catchUp();
    if (this.#salt === undefined) {
      // Two processes opening an empty store may both write one; the first line in the log wins.
      await this.#log.append({ type: "init", v: 1, salt: randomBytes(16).toString("hex"), at: this.#now() });
      await this.#catchUp();
    }
    this.#opened = true;
  }

  /** Applies the log's complete lines written since the last call (by any process). */
  async #catchUp(): Promise<void> {
    if (this.#log === undefined) return;
    const { records, offset } = await this.#log.readFrom(this.#offset);
    this.#offset = offset;
    for (const record of records) this.#apply(record);
  }

  async #append(record: LogRecord): Promise<void> {
    if (this.#log === undefined) {
      this.#apply(record);
      return;
    }
    await this.#log.append(record);
    // Re-read rather than apply locally, so this process sees the log in the order others do.
    await this.#catchUp();
  }

  #apply(record: LogRecord): void {
    switch (record.type) {
      case "init":
        this.#salt ??= record.salt;
        return;
      case "contact": {
        const existing = this.#contacts.get(record.id);
        if (existing) {
          Object.assign(existing, record.fields, { leadId: record.leadId, updatedAt: record.at });
        } else {
          this.#contacts.set(record.id, {
            id: record.id,
            email: record.email,
            ...record.fields,
            leadId: record.leadId,
            createdAt: record.at,
            updatedAt: record.at,
          });
        }
        return;
      }
      case "owner": {
        const contact = this.#contacts.get(record.contactId);
        if (contact) Object.assign(contact, { ownerId: record.ownerId, updatedAt: record.at });
        return;
      }
      case "nurture": {
        const contact = this.#contacts.get(record.contactId);
        if (contact) Object.assign(contact, { nurtureStatus: record.status, updatedAt: record.at });
        return;
      }
      case "note":
        this.#notes.push({
          id: record.id,
          contactId: record.contactId,
          body: record.body,
          createdAt: record.at,
        });
        return;
      case "task":
        this.#tasks.push({
          id: record.id,
          contactId: record.contactId,
          subject: record.subject,
          body: record.body,
          dueAt: record.dueAt,
          ...(record.ownerId === undefined ? {} : { ownerId: record.ownerId }),
          status: "NOT_STARTED",
          createdAt: record.at,
        });
        return;
    }
  }
}
