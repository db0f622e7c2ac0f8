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
    async findPosted(message) {
      const index = sent.findIndex((s) => !s.previous && s.message.effectKey === message.effectKey);
      if (index < 0 || !message.effectKey) return null;
      return { channel: message.channel ?? `dm:${message.ownerId ?? "none"}`, messageId: String(index + 1) };
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
    async addNote(contactId, body, effectKey) {
      calls.push({
        op: "addNote",
        args: effectKey === undefined ? [contactId, body] : [contactId, body, effectKey],
      });
      return { noteId: `note-${calls.length}` };
    },
    async findNote(contactId, effectKey) {
      calls.push({ op: "findNote", args: [contactId, effectKey] });
      const index = calls.findIndex((c) => c.op === "addNote" && c.args[2] === effectKey);
      return index < 0 ? null : { noteId: `note-${index + 1}` };
    },
    async createTask(contactId, task: CrmTaskInput) {
      calls.push({ op: "createTask", args: [contactId, task] });
      return { taskId: `task-${calls.length}` };
    },
    async findTask(contactId, effectKey) {
      calls.push({ op: "findTask", args: [contactId, effectKey] });
      const index = calls.findIndex(
        (c) => c.op === "createTask" && (c.args[1] as CrmTaskInput).effectKey === effectKey,
      );
      return index < 0 ? null : { taskId: `task-${index + 1}` };
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
