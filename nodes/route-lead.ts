import {
  factsFromState,
  type RegionOf,
  type RouteDecision,
  releaseDecision,
  routeLead,
  toRoute,
} from "../domain/routing/engine.ts";
import { personKey, withinWindow } from "../domain/routing/sticky.ts";
import type { LeadStateValues as LeadState } from "../domain/snapshot.ts";
import type { Issue, LeadPath, PersonRoute, Score } from "../domain/types.ts";
import type { Crm } from "../tools/ports.ts";
import type { GraphDeps, LeadNode } from "./deps.ts";

/**
 * The branch after routing: a nurture or review decision stands; otherwise a grey-zone score that
 * no LLM settled goes to review (the owner still gets it, marked for review); else qualified.
 */
export function decidePath(decision: Pick<RouteDecision, "path">, score: Score | undefined): LeadPath {
  if (decision.path === "nurture" || decision.path === "review") return decision.path;
  if (score?.greyZone && !score.llm) return "review";
  return "qualified";
}

interface AccountLookup {
  existingAccount?: boolean;
  accountOwnerCrmId?: string;
  warning?: Issue;
}

async function lookUpAccount(crm: Crm, domain: string | undefined): Promise<AccountLookup> {
  // Free-mail leads have no company domain, so no company to be an account of.
  if (!domain) return { existingAccount: false };
  try {
    const company = await crm.findCompanyByDomain(domain);
    return company?.ownerId
      ? { existingAccount: true, accountOwnerCrmId: company.ownerId }
      : { existingAccount: false };
  } catch (err) {
    // Unknown rather than false: an `existingAccount: false` rule must not match on a CRM outage.
    const message = `CRM company lookup failed (${(err as Error).message}); existing account unknown`;
    return { warning: { node: "routeLead", code: "crm_lookup_failed", message } };
  }
}

interface PersonLookup {
  existingContact?: boolean;
  contactOwnerCrmId?: string;
  returning?: boolean;
  previous?: PersonRoute;
  warnings: Issue[];
}

const failure = (code: string, what: string, err: unknown): Issue => ({
  node: "routeLead",
  code,
  message: `${what} (${(err as Error).message})`,
});

/**
 * Who the person already belongs to: the owner of their CRM contact, and whom they were routed to within the
 * returning window. A failed lookup leaves its fact unknown (a `false` rule must not match on an outage).
 */
async function lookUpPerson(
  deps: Pick<GraphDeps, "crm" | "routeMemory">,
  leadId: string,
  email: string | undefined,
  windowDays: number,
  now: Date,
): Promise<PersonLookup> {
  const found: PersonLookup = { warnings: [] };
  if (!email) return found;
  const [contact, recalled] = await Promise.allSettled([
    deps.crm.findContactByEmail(email),
    deps.routeMemory?.recall(personKey(email)),
  ]);
  if (contact.status === "rejected")
    found.warnings.push(
      failure(
        "crm_contact_lookup_failed",
        "CRM contact lookup failed; existing contact unknown",
        contact.reason,
      ),
    );
  else {
    found.existingContact = contact.value?.ownerId !== undefined;
    if (contact.value?.ownerId !== undefined) found.contactOwnerCrmId = contact.value.ownerId;
  }
  if (recalled.status === "rejected")
    found.warnings.push(
      failure("route_memory_failed", "returning-lead memory unavailable; returning unknown", recalled.reason),
    );
  else if (deps.routeMemory) {
    // A lead routed again (a retry) finds itself in the memory: that is not a returning person.
    const recalledOther = recalled.value?.leadId === leadId ? undefined : recalled.value;
    const previous = withinWindow(recalledOther, windowDays, now);
    found.returning = previous !== undefined;
    if (previous) found.previous = previous;
  }
  return found;
}

export function createRouteLeadNode(
  deps: Pick<
    GraphDeps,
    "routing" | "counters" | "crm" | "routeMemory" | "clock" | "logger" | "configVersions" | "explainRoutes"
  >,
  options: { regionOf?: RegionOf } = {},
): LeadNode {
  return async (state: LeadState) => {
    const routing = deps.routing();
    const now = deps.clock();
    const email = state.lead?.email;
    const [account, person] = await Promise.all([
      lookUpAccount(deps.crm, state.lead?.companyDomain),
      lookUpPerson(deps, state.leadId, email, routing.returning.windowDays, now),
    ]);
    const warnings = [...(account.warning ? [account.warning] : []), ...person.warnings];
    for (const w of warnings) deps.logger.warn({ leadId: state.leadId, code: w.code }, w.message);

    const facts = {
      ...factsFromState(state, { existingAccount: account.existingAccount, regionOf: options.regionOf }),
      existingContact: person.existingContact,
      returning: person.returning,
    };
    const known = {
      ...(account.accountOwnerCrmId !== undefined && { accountOwnerCrmId: account.accountOwnerCrmId }),
      ...(person.contactOwnerCrmId !== undefined && { contactOwnerCrmId: person.contactOwnerCrmId }),
      ...(person.previous !== undefined && { previous: person.previous }),
    };
    const decision = await routeLead(facts, routing, {
      counters: deps.counters,
      now,
      ...known,
      explain: deps.explainRoutes ?? false,
    });
    if (decision.ownerId && email && deps.routeMemory) {
      const remembered = { ownerId: decision.ownerId, leadId: state.leadId, routedAt: now.toISOString() };
      try {
        await deps.routeMemory.remember(personKey(email), remembered, routing.returning.windowDays * 86_400);
      } catch (err) {
        // The lead fails here and its retry routes again: the slot this decision took is given back first.
        await releaseDecision(decision, deps.counters).catch(() => undefined);
        throw err;
      }
    }
    const path = decidePath(decision, state.score);
    const route = toRoute(decision);
    // Kept with the decision: what-if replays these facts against a candidate config.
    route.facts = Object.fromEntries(
      Object.entries({ ...facts, ...known }).filter(([, v]) => v !== undefined),
    );
    const version = deps.configVersions?.().routing;
    if (version) route.configVersion = version;
    if (path === "review" && decision.path === "qualified")
      route.explanation = [...route.explanation, "grey-zone score not settled by an LLM — path review"];

    deps.logger.info(
      {
        leadId: state.leadId,
        rule: route.ruleName,
        kind: route.kind,
        ownerId: route.ownerId,
        queue: route.queue,
        path,
      },
      "lead routed",
    );
    return warnings.length > 0 ? { route, path, warnings } : { route, path };
  };
}
