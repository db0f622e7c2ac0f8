import {
  factsFromState,
  type RegionOf,
  type RouteDecision,
  routeLead,
  toRoute,
} from "../domain/routing/engine.ts";
import type { LeadStateValues as LeadState } from "../domain/snapshot.ts";
import type { Issue, LeadPath, Score } from "../domain/types.ts";
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

export function createRouteLeadNode(
  deps: Pick<
    GraphDeps,
    "routing" | "counters" | "crm" | "clock" | "logger" | "configVersions" | "explainRoutes"
  >,
  options: { regionOf?: RegionOf } = {},
): LeadNode {
  return async (state: LeadState) => {
    const account = await lookUpAccount(deps.crm, state.lead?.companyDomain);
    if (account.warning)
      deps.logger.warn({ leadId: state.leadId, code: account.warning.code }, account.warning.message);

    const facts = factsFromState(state, {
      existingAccount: account.existingAccount,
      regionOf: options.regionOf,
    });
    const decision = await routeLead(facts, deps.routing(), {
      counters: deps.counters,
      now: deps.clock(),
      accountOwnerCrmId: account.accountOwnerCrmId,
      explain: deps.explainRoutes ?? false,
    });
    const path = decidePath(decision, state.score);
    const route = toRoute(decision);
    // Kept with the decision: what-if replays these facts against a candidate config.
    route.facts = Object.fromEntries(
      Object.entries({ ...facts, accountOwnerCrmId: account.accountOwnerCrmId }).filter(
        ([, v]) => v !== undefined,
      ),
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
    return account.warning ? { route, path, warnings: [account.warning] } : { route, path };
  };
}
