import type {
  Crm,
  CrmCompany,
  CrmTaskInput,
  Notifier,
  OwnerMessage,
  PostedMessage,
} from "../../tools/ports.ts";

/** Small inline fakes of one port each, recording calls (their real adapters have their own tests). */
export function recordingNotifier(): Notifier & {
  sent: Array<{ message: OwnerMessage; previous?: PostedMessage }>;
} {
  const sent: Array<{ message: OwnerMessage; previous?: PostedMessage }> = [];
  return {
    name: "recording",
    sent,
    async send(message, previous) {
      sent.push(previous ? { message, previous } : { message });
      return (
        previous ?? {
          channel: message.channel ?? `dm:${message.ownerId ?? "none"}`,
          messageId: String(sent.length),
        }
      );
    },
  };
}

/** A CRM fake: `contactOwners` (email → CRM owner id) are contacts it already has. */
export function recordingCrm(companies: CrmCompany[] = [], contactOwners: Record<string, string> = {}) {
  const calls: Array<{ op: string; args: unknown[] }> = [];
  const contacts = new Map<string, string | undefined>(
    Object.entries(contactOwners).map(([email, owner]) => [`contact-${email}`, owner]),
  );
  const crm: Crm & { calls: typeof calls } = {
    name: "recording",
    calls,
    async findCompanyByDomain(domain) {
      calls.push({ op: "findCompanyByDomain", args: [domain] });
      return companies.find((c) => c.domain === domain) ?? null;
    },
    async upsertContact(contact) {
      calls.push({ op: "upsertContact", args: [contact] });
      const contactId = `contact-${contact.email}`;
      const created = !contacts.has(contactId);
      if (created) contacts.set(contactId, undefined);
      return { contactId, created };
    },
    async findContactByEmail(email) {
      calls.push({ op: "findContactByEmail", args: [email] });
      const id = `contact-${email}`;
      if (!contacts.has(id)) return null;
      const ownerId = contacts.get(id);
      return ownerId ? { id, ownerId } : { id };
    },
    async setOwner(contactId, ownerId) {
      calls.push({ op: "setOwner", args: [contactId, ownerId] });
      contacts.set(contactId, ownerId);
    },
    async addNote(contactId, body) {
      calls.push({ op: "addNote", args: [contactId, body] });
      return { noteId: `note-${calls.length}` };
    },
    async createTask(contactId, task: CrmTaskInput) {
      calls.push({ op: "createTask", args: [contactId, task] });
      return { taskId: `task-${calls.length}` };
    },
    async setNurtureStatus(contactId, status) {
      calls.push({ op: "setNurtureStatus", args: [contactId, status] });
    },
    async getContact(contactId, properties) {
      calls.push({ op: "getContact", args: [contactId, properties] });
      return null;
    },
  };
  return crm;
}
