/** What LeadGraph writes into the CRM: the note explaining the score and route, and task due dates. */
import type { RoutingConfig } from "./routing/schema.ts";
import type { LeadSnapshot } from "./snapshot.ts";

/** The CRM owner id of the routed owner, when routing.json maps them to one. */
export function crmOwnerIdOf(state: Pick<LeadSnapshot, "route">, routing: RoutingConfig): string | undefined {
  const ownerId = state.route?.ownerId;
  return ownerId ? routing.owners.find((o) => o.id === ownerId)?.crmOwnerId : undefined;
}

/** The note filed on the contact: why it scored and routed as it did. */
export function crmNote(state: LeadSnapshot): string {
  const lines = [`LeadGraph lead ${state.leadId}`];
  if (state.score) {
    lines.push(`Score ${state.score.value} (${state.score.tier}), rule score ${state.score.ruleScore}`);
    for (const r of state.score.reasons) lines.push(`- ${r.text} [${r.field}=${String(r.value)}]`);
    if (state.score.llm)
      lines.push(`LLM adjustment ${state.score.llm.adjustment}: ${state.score.llm.reasons.join("; ")}`);
  }
  if (state.route)
    lines.push(
      `Route: ${state.route.ruleName} (${state.path ?? "?"})`,
      ...state.route.explanation.map((l) => `  ${l}`),
    );
  if (state.summary) lines.push("Summary:", ...state.summary.bullets.map((b) => `- ${b}`));
  return lines.join("\n");
}

const DAY_MS = 86_400_000;

/** ISO timestamp `days` after now, for task due dates. */
export function dueIn(clock: () => Date, days: number): string {
  return new Date(clock().getTime() + days * DAY_MS).toISOString();
}
