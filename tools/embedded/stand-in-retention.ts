/**
 * Retention for the embedded stand-ins' tables (app/retention.ts): the per-lead effect records go with
 * their lead — the outbox's owner messages (and their updates) and the local CRM's notes and tasks, all keyed by the lead's
 * effect keys (`<leadId>:…`). Contacts stay: they are the CRM's data about a person (one row per email,
 * whichever lead last upserted it), as HubSpot keeps its contacts whatever LeadGraph deletes.
 */
import type { DatabaseSync } from "node:sqlite";

function tables(db: DatabaseSync): Set<string> {
  return new Set(
    db
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('outbox', 'outbox_updates', 'crm_notes', 'crm_tasks')",
      )
      .all()
      .map((row) => String(row.name)),
  );
}

/** Deletes the lead's outbox messages, CRM notes and CRM tasks; returns how many rows went. */
export function forgetLeadEffects(db: DatabaseSync, leadId: string): number {
  const present = tables(db);
  // Effect keys are `<leadId>:<effect>`: the range [`<id>:`, `<id>;`) is exactly the lead's.
  const low = `${leadId}:`;
  const high = `${leadId};`;
  let deleted = 0;
  for (const table of ["outbox", "outbox_updates"]) {
    if (!present.has(table)) continue;
    deleted += Number(db.prepare(`DELETE FROM ${table} WHERE lead_id = ?`).run(leadId).changes);
  }
  for (const table of ["crm_notes", "crm_tasks"]) {
    if (!present.has(table)) continue;
    deleted += Number(
      db.prepare(`DELETE FROM ${table} WHERE effect_key >= ? AND effect_key < ?`).run(low, high).changes,
    );
  }
  return deleted;
}
