/** Reads what the embedded stand-ins wrote in DATA_DIR/leadgraph.db: owner messages (outbox) and CRM contacts. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";

function count(dataDir: string, sql: string, leadId: string): number {
  const path = join(dataDir, "leadgraph.db");
  if (!existsSync(path)) return 0;
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const table = sql.match(/FROM (\w+)/)?.[1];
    const exists = db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?")
      .get(table ?? "");
    return exists ? Number(db.prepare(sql).get(leadId)?.n ?? 0) : 0;
  } finally {
    db.close();
  }
}

/** Owner messages posted for the lead (edits of one message count once). */
export function outboxMessagesFor(dataDir: string, leadId: string): number {
  return count(dataDir, "SELECT COUNT(*) AS n FROM outbox WHERE lead_id = ?", leadId);
}

/** Contacts the local CRM holds whose last upsert came from the lead. */
export function crmContactsFor(dataDir: string, leadId: string): number {
  return count(dataDir, "SELECT COUNT(*) AS n FROM crm_contacts WHERE lead_id = ?", leadId);
}

/** Notes and tasks the local CRM holds under the lead's effect keys (`<leadId>:…`). */
export function crmNotesAndTasksFor(dataDir: string, leadId: string): { notes: number; tasks: number } {
  const like = `${leadId}:%`;
  return {
    notes: count(dataDir, "SELECT COUNT(*) AS n FROM crm_notes WHERE effect_key LIKE ?", like),
    tasks: count(dataDir, "SELECT COUNT(*) AS n FROM crm_tasks WHERE effect_key LIKE ?", like),
  };
}
