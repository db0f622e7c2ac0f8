/** Reads the outbox (the embedded Slack stand-in) of a test service: each owner message and its updates. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";

export interface OutboxRow {
  channel: string;
  text: string;
  updates: number;
}

export function outboxRows(dataDir: string, leadId: string): OutboxRow[] {
  const path = join(dataDir, "leadgraph.db");
  if (!existsSync(path)) return [];
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return db
      .prepare("SELECT channel, text, edits AS updates FROM outbox WHERE lead_id = ? ORDER BY seq")
      .all(leadId) as unknown as OutboxRow[];
  } finally {
    db.close();
  }
}

/** Every update of the lead's messages, in order, as the outbox recorded them. */
export function outboxUpdates(dataDir: string, leadId: string): Array<{ messageId: string; text: string }> {
  const path = join(dataDir, "leadgraph.db");
  if (!existsSync(path)) return [];
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return db
      .prepare("SELECT message_id AS messageId, text FROM outbox_updates WHERE lead_id = ? ORDER BY seq")
      .all(leadId) as unknown as Array<{ messageId: string; text: string }>;
  } finally {
    db.close();
  }
}
