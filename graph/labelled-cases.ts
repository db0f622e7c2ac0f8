import { randomUUID } from "node:crypto";
import { routeLabel } from "../domain/labels.ts";
import { capKey } from "../domain/routing/engine.ts";
import type { PersonRoute } from "../domain/types.ts";
import type { GraphDeps } from "../nodes/deps.ts";
import type { CrmContactOwner } from "../tools/ports.ts";
import type { LeadCase } from "./batch.ts";
import { type PreviewOptions, previewLead } from "./build.ts";
import type { LeadState } from "./state.ts";

export interface CaseResult {
  case: LeadCase;
  actualOwner: string;
  actualTier: string;
  ownerOk: boolean;
  tierOk: boolean;
  state?: LeadState;
  error?: string;
}

export interface CasesReport {
  total: number;
  ownerAccuracy: number;
  tierAccuracy: number;
  results: CaseResult[];
  misses: CaseResult[];
}

/** A wrapper of `target` whose `name` method is `replacement`; every other member is the target's own. */
function overriding<T extends object>(target: T, name: keyof T, replacement: unknown): T {
  return new Proxy(target, {
    get(t, prop) {
      if (prop === name) return replacement;
      const value = Reflect.get(t, prop, t);
      return typeof value === "function" ? value.bind(t) : value;
    },
  });
}

/**
 * The deps a case runs on: its own clock (`at`), and what its `given` says the CRM (a contact's owner), the
 * route memory (an earlier route of the person) and the cap counters (leads already assigned) hold. Nothing
 * a case sets leaks into the next one.
 */
export function caseDeps(deps: GraphDeps, c: LeadCase): GraphDeps {
  const out: GraphDeps = { ...deps };
  if (c.at !== undefined) {
    const at = new Date(c.at);
    if (Number.isNaN(at.getTime())) throw new Error(`case ${c.id}: "at" must be an ISO time, got ${c.at}`);
    out.clock = () => at;
  }
  const given = c.given ?? {};
  if (given.crmContactOwner !== undefined) {
    const contact: CrmContactOwner = { id: `case-${c.id}`, ownerId: given.crmContactOwner };
    out.crm = overriding(deps.crm, "findContactByEmail", async () => contact);
  }
  if (given.routedBefore !== undefined) {
    const { owner, at, leadId } = given.routedBefore;
    if (Number.isNaN(Date.parse(at))) throw new Error(`case ${c.id}: "routedBefore.at" must be an ISO time`);
    const previous: PersonRoute = { ownerId: owner, leadId: leadId ?? `${c.id}-earlier`, routedAt: at };
    out.routeMemory = { recall: async () => previous, remember: async () => {} };
  }
  if (given.assigned !== undefined) {
    const counts = new Map<string, number>();
    for (const [owner, days] of Object.entries(given.assigned))
      for (const [day, n] of Object.entries(days)) counts.set(capKey(owner, day), n);
    out.counters = overriding(
      deps.counters,
      "get",
      async (key: string) => counts.get(key) ?? deps.counters.get(key),
    );
  }
  return out;
}

/** A case's owner label holds: the route's label, or for a pool the member it names; and the start time. */
function ownerMatches(c: LeadCase, state: LeadState): boolean {
  const route = state.route;
  const owner =
    c.expectedOwner === undefined ||
    c.expectedOwner === routeLabel(route) ||
    (route?.pool !== undefined && c.expectedOwner === route.ownerId);
  return owner && (c.expectedAvailableFrom === undefined || c.expectedAvailableFrom === route?.availableFrom);
}

/** Dry-runs every labelled case (no counters, messages or CRM writes) and scores owner and tier. */
export async function evaluateCases(
  deps: GraphDeps,
  cases: LeadCase[],
  options: PreviewOptions = {},
): Promise<CasesReport> {
  const results: CaseResult[] = [];
  for (const c of cases) {
    try {
      const own = caseDeps(deps, c);
      const state = await previewLead(
        own,
        {
          leadId: `preview-${randomUUID()}`,
          receivedAt: own.clock().toISOString(),
          raw: c.payload,
        },
        options,
      );
      const actualOwner = routeLabel(state.route);
      const actualTier = state.score?.tier ?? "none";
      results.push({
        case: c,
        actualOwner,
        actualTier,
        ownerOk: ownerMatches(c, state),
        tierOk: c.expectedTier === undefined || c.expectedTier === actualTier,
        state,
      });
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      results.push({
        case: c,
        actualOwner: "error",
        actualTier: "error",
        ownerOk: false,
        tierOk: false,
        error,
      });
    }
  }
  const withOwner = results.filter((r) => r.case.expectedOwner !== undefined);
  const withTier = results.filter((r) => r.case.expectedTier !== undefined);
  const share = (rs: CaseResult[], ok: (r: CaseResult) => boolean) =>
    rs.length === 0 ? 1 : rs.filter(ok).length / rs.length;
  return {
    total: results.length,
    ownerAccuracy: share(withOwner, (r) => r.ownerOk),
    tierAccuracy: share(withTier, (r) => r.tierOk),
    results,
    misses: results.filter((r) => !r.ownerOk || !r.tierOk),
  };
}
