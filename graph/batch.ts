import { randomUUID } from "node:crypto";
import type { LeadGraph } from "./build.ts";
import type { LeadState } from "./state.ts";

/** A labelled case from fixtures/leads_*.json, or a bare payload. */
export interface LeadCase {
  id: string;
  payload: unknown;
  /** An owner id, `pool:<id>` (or the pool member's own id, to pin who), or `queue:<id>`. */
  expectedOwner?: string;
  expectedTier?: string;
  /** ISO time the route must say the owner's hours start (a lead given outside them). */
  expectedAvailableFrom?: string;
  description?: string;
  /** ISO time the case is routed at: working hours, away dates and daily caps are read then. */
  at?: string;
  /** What the CRM and the store already know when the case is routed (see graph/labelled-cases.ts). */
  given?: CaseGiven;
}

export interface CaseGiven {
  /** The lead's email is a CRM contact owned by this CRM owner id. */
  crmContactOwner?: string;
  /** The same person was routed before: to this owner, at this ISO time (as lead `leadId`). */
  routedBefore?: { owner: string; at: string; leadId?: string };
  /** Leads already counted per owner and local date (YYYY-MM-DD): `{ "maya.patel": { "2026-10-05": 40 } }`. */
  assigned?: Record<string, Record<string, number>>;
}

export type CaseOutcome =
  | { case: LeadCase; ok: true; state: LeadState }
  | { case: LeadCase; ok: false; error: Error };

/** Accepts `[payload...]`, `[{payload, expectedOwner, ...}...]`, `{leads: [...]}` or one payload. */
export function toCases(input: unknown): LeadCase[] {
  const list = Array.isArray(input)
    ? input
    : input && typeof input === "object" && Array.isArray((input as { leads?: unknown }).leads)
      ? (input as { leads: unknown[] }).leads
      : [input];
  return list.map((item, i) => {
    if (item && typeof item === "object" && "payload" in item) {
      const c = item as Partial<LeadCase> & { payload: unknown };
      return { ...c, id: typeof c.id === "string" ? c.id : `#${i + 1}` };
    }
    return { id: `#${i + 1}`, payload: item };
  });
}

/** Runs each case through the compiled graph, `concurrency` at a time, keeping input order. */
export async function runCases(
  graph: LeadGraph,
  cases: LeadCase[],
  options: { concurrency?: number; clock?: () => Date } = {},
): Promise<CaseOutcome[]> {
  const clock = options.clock ?? (() => new Date());
  const outcomes: CaseOutcome[] = new Array(cases.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      const c = cases[i];
      if (c === undefined) return;
      const leadId = randomUUID();
      try {
        const state = (await graph.invoke(
          { leadId, receivedAt: clock().toISOString(), raw: c.payload },
          { configurable: { thread_id: leadId } },
        )) as LeadState;
        outcomes[i] = { case: c, ok: true, state };
      } catch (err) {
        outcomes[i] = { case: c, ok: false, error: err instanceof Error ? err : new Error(String(err)) };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 8) }, worker));
  return outcomes;
}
