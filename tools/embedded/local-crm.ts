/**
 * Over 300 lines because it is the whole embedded Crm adapter (tables, contacts, companies, owners, notes, tasks) mirroring tools/hubspot/hubspot-crm.ts.
 */
import { readFileSync } from "node:fs";
import { DatabaseSync, type SQLOutputValue, type StatementSync } from "node:sqlite";
import { z } from "zod";
import { timeOrderedId } from "../ids.ts";
import type { ContactInput, Crm, CrmCompany, CrmContact, CrmContactOwner, CrmTaskInput } from "../ports.ts";
import { type WriteBatch, writeIn } from "./sqlite-writes.ts";

export interface LocalCrmOptions {
  /**
   * The database holding the CRM's tables (the embedded profile's own `leadgraph.db`, shared with other
   * processes through SQLite's locking); a private in-memory one when absent. The CRM never closes it.
   */
  db?: DatabaseSync;
  /** The service's group commit on `db` (tools/embedded/sqlite-writes.ts); writes commit at once without it. */
  batch?: WriteBatch;
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
  /** The ledger key it was written under, if any. */
  effectKey?: string;
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
  effectKey?: string;
  createdAt: string;
}

type ContactFields = Omit<ContactInput, "email" | "leadId">;

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

const SCHEMA = `
CREATE TABLE IF NOT EXISTS crm_contacts (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  lead_id TEXT NOT NULL,
  fields TEXT NOT NULL,
  owner_id TEXT,
  nurture_status TEXT,
  upserts INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS crm_notes (
  id TEXT PRIMARY KEY,
  contact_id TEXT NOT NULL,
  body TEXT NOT NULL,
  effect_key TEXT UNIQUE,
  created_at TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS crm_notes_contact ON crm_notes (contact_id);
CREATE TABLE IF NOT EXISTS crm_tasks (
  id TEXT PRIMARY KEY,
  contact_id TEXT NOT NULL,
  subject TEXT NOT NULL,
  body TEXT NOT NULL,
  due_at TEXT NOT NULL,
  owner_id TEXT,
  status TEXT NOT NULL,
  effect_key TEXT UNIQUE,
  created_at TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS crm_tasks_contact ON crm_tasks (contact_id);
`;

function prepare(db: DatabaseSync) {
  const p = (sql: string): StatementSync => db.prepare(sql);
  return {
    // One statement: the first upsert of an email creates the contact (upserts = 1), later ones merge
    // their fields into it and keep its id, whichever process runs them.
    upsertContact: p(
      `INSERT INTO crm_contacts (id, email, lead_id, fields, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)
       ON CONFLICT (email) DO UPDATE SET fields = json_patch(crm_contacts.fields, excluded.fields),
         lead_id = excluded.lead_id, upserts = crm_contacts.upserts + 1, updated_at = excluded.updated_at
       RETURNING id, upserts`,
    ),
    contactExists: p("SELECT 1 AS ok FROM crm_contacts WHERE id = ?"),
    setOwner: p("UPDATE crm_contacts SET owner_id = ?, updated_at = ? WHERE id = ?"),
    setNurture: p("UPDATE crm_contacts SET nurture_status = ?, updated_at = ? WHERE id = ?"),
    insertNote: p(
      `INSERT INTO crm_notes (id, contact_id, body, effect_key, created_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (effect_key) DO NOTHING`,
    ),
    noteByKey: p("SELECT id FROM crm_notes WHERE effect_key = ?"),
    insertTask: p(
      `INSERT INTO crm_tasks (id, contact_id, subject, body, due_at, owner_id, status, effect_key, created_at)
       VALUES (?, ?, ?, ?, ?, ?, 'NOT_STARTED', ?, ?) ON CONFLICT (effect_key) DO NOTHING`,
    ),
    taskByKey: p("SELECT id FROM crm_tasks WHERE effect_key = ?"),
    contacts: p("SELECT * FROM crm_contacts ORDER BY created_at, id"),
    contactById: p("SELECT * FROM crm_contacts WHERE id = ?"),
    contactByEmail: p("SELECT id, owner_id FROM crm_contacts WHERE email = ?"),
    notes: p("SELECT * FROM crm_notes ORDER BY rowid"),
    tasks: p("SELECT * FROM crm_tasks ORDER BY rowid"),
  };
}

type Row = Record<string, SQLOutputValue>;
const optional = (value: SQLOutputValue | undefined) => (value == null ? undefined : String(value));

function toContact(row: Row): LocalContact {
  const contact: LocalContact = {
    id: String(row.id),
    email: String(row.email),
    ...(JSON.parse(String(row.fields)) as ContactFields),
    leadId: String(row.lead_id),
    createdAt: String(row.created_at),
    updatedAt: String(row.updated_at),
  };
  const ownerId = optional(row.owner_id);
  if (ownerId !== undefined) contact.ownerId = ownerId;
  const nurtureStatus = optional(row.nurture_status);
  if (nurtureStatus !== undefined) contact.nurtureStatus = nurtureStatus;
  return contact;
}

/**
 * The embedded CRM: contacts, notes and tasks as tables in the embedded profile's SQLite database (or a
 * private in-memory one). Every write is one statement, so several processes on one database agree without
 * locks of their own. Contact ids are random (`lc-…`) and never reveal the email; a contact keeps the id of
 * its first upsert. Notes and tasks written under a ledger key are unique by it: writing one again returns
 * the first, which makes the local CRM idempotent by effect key.
 */
export class LocalCrm implements Crm {
  readonly name = "local";
  readonly #sql: ReturnType<typeof prepare>;
  readonly #batch: WriteBatch | undefined;
  readonly #clock: () => Date;
  readonly #companies = new Map<string, CrmCompany>();

  constructor(options: LocalCrmOptions = {}) {
    const db = options.db ?? new DatabaseSync(":memory:");
    db.exec(SCHEMA);
    this.#sql = prepare(db);
    this.#batch = options.batch;
    this.#clock = options.clock ?? (() => new Date());
    for (const company of options.seedCompanies ?? []) {
      const domain = normalizeDomain(company.domain);
      // First entry wins, as in the firmographics table.
      if (!this.#companies.has(domain)) this.#companies.set(domain, { ...company, domain });
    }
  }

  async findCompanyByDomain(domain: string): Promise<CrmCompany | null> {
    const found = this.#companies.get(normalizeDomain(domain));
    return found ? { ...found } : null;
  }

  async upsertContact(contact: ContactInput): Promise<{ contactId: string; created: boolean }> {
    const email = contact.email.trim().toLowerCase();
    const fields: ContactFields = {};
    for (const name of contactFieldNames) {
      const value = contact[name];
      if (value !== undefined && value !== "") fields[name] = value;
    }
    const id = `lc-${timeOrderedId().replaceAll("-", "").slice(0, 24)}`;
    const row = await writeIn(this.#batch, () =>
      this.#sql.upsertContact.get(id, email, contact.leadId, JSON.stringify(fields), this.#now()),
    );
    return { contactId: String(row?.id), created: Number(row?.upserts) === 1 };
  }

  async setOwner(contactId: string, crmOwnerId: string): Promise<void> {
    const { changes } = await writeIn(this.#batch, () =>
      this.#sql.setOwner.run(crmOwnerId, this.#now(), contactId),
    );
    this.#changed(changes, contactId);
  }

  async setNurtureStatus(contactId: string, status: string): Promise<void> {
    const { changes } = await writeIn(this.#batch, () =>
      this.#sql.setNurture.run(status, this.#now(), contactId),
    );
    this.#changed(changes, contactId);
  }

  async addNote(contactId: string, body: string, effectKey?: string): Promise<{ noteId: string }> {
    this.#requireContact(contactId);
    const id = `ln-${timeOrderedId()}`;
    await writeIn(this.#batch, () =>
      this.#sql.insertNote.run(id, contactId, body, effectKey ?? null, this.#now()),
    );
    if (effectKey === undefined) return { noteId: id };
    return (await this.findNote(contactId, effectKey)) ?? { noteId: id };
  }

  /** By key alone: a key names one lead's one note, whichever contact it went to. */
  async findNote(_contactId: string, effectKey: string): Promise<{ noteId: string } | null> {
    const row = this.#sql.noteByKey.get(effectKey);
    return row ? { noteId: String(row.id) } : null;
  }

  async createTask(contactId: string, task: CrmTaskInput): Promise<{ taskId: string }> {
    this.#requireContact(contactId);
    const id = `lt-${timeOrderedId()}`;
    await writeIn(this.#batch, () =>
      this.#sql.insertTask.run(
        id,
        contactId,
        task.subject,
        task.body,
        task.dueAt,
        task.ownerId ?? null,
        task.effectKey ?? null,
        this.#now(),
      ),
    );
    if (task.effectKey === undefined) return { taskId: id };
    return (await this.findTask(contactId, task.effectKey)) ?? { taskId: id };
  }

  async findTask(_contactId: string, effectKey: string): Promise<{ taskId: string } | null> {
    const row = this.#sql.taskByKey.get(effectKey);
    return row ? { taskId: String(row.id) } : null;
  }

  async findContactByEmail(email: string): Promise<CrmContactOwner | null> {
    const row = this.#sql.contactByEmail.get(email.trim().toLowerCase());
    if (!row) return null;
    return row.owner_id != null
      ? { id: String(row.id), ownerId: String(row.owner_id) }
      : { id: String(row.id) };
  }

  /** A local contact under HubSpot's property names, so a contact reads the same from either CRM. */
  async getContact(contactId: string, properties: readonly string[]): Promise<CrmContact | null> {
    const row = this.#sql.contactById.get(contactId);
    if (!row) return null;
    const contact = toContact(row);
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
  }

  /** Every contact, including other processes' writes (tests, admin). */
  async contacts(): Promise<LocalContact[]> {
    return this.#sql.contacts.all().map(toContact);
  }

  async notes(): Promise<LocalNote[]> {
    return this.#sql.notes.all().map((row: Row) => {
      const note: LocalNote = {
        id: String(row.id),
        contactId: String(row.contact_id),
        body: String(row.body),
        createdAt: String(row.created_at),
      };
      const effectKey = optional(row.effect_key);
      if (effectKey !== undefined) note.effectKey = effectKey;
      return note;
    });
  }

  async tasks(): Promise<LocalTask[]> {
    return this.#sql.tasks.all().map((row: Row) => {
      const task: LocalTask = {
        id: String(row.id),
        contactId: String(row.contact_id),
        subject: String(row.subject),
        body: String(row.body),
        dueAt: String(row.due_at),
        status: "NOT_STARTED",
        createdAt: String(row.created_at),
      };
      const ownerId = optional(row.owner_id);
      if (ownerId !== undefined) task.ownerId = ownerId;
      const effectKey = optional(row.effect_key);
      if (effectKey !== undefined) task.effectKey = effectKey;
      return task;
    });
  }

  #now(): string {
    return this.#clock().toISOString();
  }

  #requireContact(contactId: string): void {
    if (!this.#sql.contactExists.get(contactId)) this.#changed(0, contactId);
  }

  #changed(changes: number | bigint, contactId: string): void {
    if (Number(changes) === 0)
      throw new LocalCrmError("unknown_contact", `local crm: no contact ${contactId}`);
  }
}
