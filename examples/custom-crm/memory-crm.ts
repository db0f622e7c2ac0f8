/**
 * This project's own CRM adapter: LeadGraph's `Crm` port over plain maps. A real one would call your CRM's
 * API; nothing else in the graph changes.
 */
import type { ContactInput, Crm, CrmCompany, CrmContact, CrmContactOwner, CrmTaskInput } from "leadgraph";

export interface StoredContact extends ContactInput {
  id: string;
  ownerId?: string;
  status?: string;
  notes: Array<{ body: string; effectKey?: string }>;
  tasks: CrmTaskInput[];
}

export class MemoryCrm implements Crm {
  readonly name = "example memory CRM";
  readonly contacts = new Map<string, StoredContact>();
  readonly #companies: Map<string, CrmCompany>;

  constructor(companies: CrmCompany[]) {
    this.#companies = new Map(companies.map((c) => [c.domain, c]));
  }

  async findCompanyByDomain(domain: string): Promise<CrmCompany | null> {
    return this.#companies.get(domain) ?? null;
  }

  async findContactByEmail(email: string): Promise<CrmContactOwner | null> {
    const contact = [...this.contacts.values()].find((c) => c.email === email.toLowerCase());
    if (!contact) return null;
    return contact.ownerId ? { id: contact.id, ownerId: contact.ownerId } : { id: contact.id };
  }

  async upsertContact(contact: ContactInput): Promise<{ contactId: string; created: boolean }> {
    const existing = [...this.contacts.values()].find((c) => c.email === contact.email);
    if (existing) {
      Object.assign(existing, contact);
      return { contactId: existing.id, created: false };
    }
    const id = `contact-${this.contacts.size + 1}`;
    this.contacts.set(id, { ...contact, id, notes: [], tasks: [] });
    return { contactId: id, created: true };
  }

  async setOwner(contactId: string, crmOwnerId: string): Promise<void> {
    this.#contact(contactId).ownerId = crmOwnerId;
  }

  // A note or task carries the key LeadGraph wrote it under, so that after a crash between your CRM taking
  // the write and LeadGraph recording it, findNote/findTask find it instead of LeadGraph writing it twice.
  async addNote(contactId: string, body: string, effectKey?: string): Promise<{ noteId: string }> {
    const contact = this.#contact(contactId);
    contact.notes.push(effectKey === undefined ? { body } : { body, effectKey });
    return { noteId: `${contactId}-note-${contact.notes.length}` };
  }

  async findNote(contactId: string, effectKey: string): Promise<{ noteId: string } | null> {
    const index = this.#contact(contactId).notes.findIndex((n) => n.effectKey === effectKey);
    return index < 0 ? null : { noteId: `${contactId}-note-${index + 1}` };
  }

  async createTask(contactId: string, task: CrmTaskInput): Promise<{ taskId: string }> {
    const contact = this.#contact(contactId);
    contact.tasks.push(task);
    return { taskId: `${contactId}-task-${contact.tasks.length}` };
  }

  async findTask(contactId: string, effectKey: string): Promise<{ taskId: string } | null> {
    const index = this.#contact(contactId).tasks.findIndex((t) => t.effectKey === effectKey);
    return index < 0 ? null : { taskId: `${contactId}-task-${index + 1}` };
  }

  async setNurtureStatus(contactId: string, status: string): Promise<void> {
    this.#contact(contactId).status = status;
  }

  async getContact(contactId: string, properties: readonly string[]): Promise<CrmContact | null> {
    const contact = this.contacts.get(contactId);
    if (!contact) return null;
    const known: Record<string, string | undefined> = {
      email: contact.email,
      hs_lead_status: contact.status,
    };
    const wanted: Record<string, string> = {};
    for (const name of properties) {
      const value = known[name];
      if (value !== undefined) wanted[name] = value;
    }
    return { id: contact.id, properties: wanted };
  }

  #contact(id: string): StoredContact {
    const contact = this.contacts.get(id);
    if (!contact) throw new Error(`no contact ${id}`);
    return contact;
  }
}
