/** Reads what the embedded adapters wrote in DATA_DIR: owner messages in outbox.jsonl, contacts in crm.jsonl. */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

function records(file: string): Array<Record<string, unknown>> {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** New owner messages (not edits) posted for the lead. */
export function outboxMessagesFor(dataDir: string, leadId: string): number {
  return records(join(dataDir, "outbox.jsonl")).filter((r) => r.type === "message" && r.leadId === leadId)
    .length;
}

/** Contact upserts the local CRM recorded for the lead. */
export function crmContactsFor(dataDir: string, leadId: string): number {
  return records(join(dataDir, "crm.jsonl")).filter((r) => r.type === "contact" && r.leadId === leadId)
    .length;
}
