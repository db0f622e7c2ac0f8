/** The AE-facing summary written from the state alone (the template; an LLM may write it instead). */
import type { RoutingConfig } from "./routing/schema.ts";
import { type LeadSnapshot, requireLead } from "./snapshot.ts";
import type { NormalizedLead, Summary } from "./types.ts";

export function money(usd: number): string {
  if (usd >= 1_000_000_000) return `$${(usd / 1_000_000_000).toFixed(1)}B`;
  if (usd >= 1_000_000) return `$${(usd / 1_000_000).toFixed(1)}M`;
  if (usd >= 1_000) return `$${Math.round(usd / 1_000)}k`;
  return `$${usd}`;
}

function whoLine(lead: NormalizedLead, state: LeadSnapshot): string {
  const name = lead.fullName ?? ([lead.firstName, lead.lastName].filter(Boolean).join(" ") || lead.email);
  const seniority = state.enrichment?.values.seniority;
  const title = lead.title ? `${lead.title}${seniority ? ` (${seniority})` : ""}` : "title unknown";
  const where = [lead.state, lead.country].filter(Boolean).join(", ") || "location unknown";
  return `Who: ${name}, ${title}, ${where}`;
}

function companyLine(lead: NormalizedLead, state: LeadSnapshot): string {
  const e = state.enrichment?.values ?? {};
  const name = e.companyName ?? lead.company ?? lead.companyDomain ?? "unknown company";
  const facts = [
    e.industry,
    e.employees === undefined ? undefined : `${e.employees.toLocaleString("en-US")} employees`,
    e.revenue === undefined ? undefined : `${money(e.revenue)} revenue`,
    e.techStack && e.techStack.length > 0 ? `uses ${e.techStack.slice(0, 4).join(", ")}` : undefined,
  ].filter(Boolean);
  const known = facts.length > 0 ? facts.join(", ") : "no firmographics found";
  return `Company: ${name}${lead.companyDomain ? ` (${lead.companyDomain})` : ""}: ${known}`;
}

function whyNowLine(lead: NormalizedLead): string {
  const parts = [
    lead.form ? `form "${lead.form}"` : undefined,
    lead.campaign ? `campaign "${lead.campaign}"` : undefined,
    lead.message
      ? `said "${lead.message.length > 160 ? `${lead.message.slice(0, 157)}...` : lead.message}"`
      : undefined,
  ].filter(Boolean);
  return `Why now: ${parts.length > 0 ? parts.join("; ") : `came in via ${lead.source}`}`;
}

function nextStep(state: LeadSnapshot, ownerName: string): string {
  if (state.path === "review")
    return `Next step: ${ownerName} reviews the fit before outreach (rules could not decide)`;
  const form = state.lead?.form?.toLowerCase() ?? "";
  if (form.includes("demo")) return `Next step: ${ownerName} books the demo within one business day`;
  if (state.score?.tier === "hot") return `Next step: ${ownerName} calls within one business day`;
  return `Next step: ${ownerName} sends a tailored intro email this week`;
}

export function ownerDisplayName(state: LeadSnapshot, routing: RoutingConfig): string {
  const ownerId = state.route?.ownerId;
  const owner = ownerId ? routing.owners.find((o) => o.id === ownerId) : undefined;
  if (owner) return owner.name;
  const queue = routing.queues.find((q) => q.id === state.route?.queue);
  return queue?.name ?? "the team";
}

/** The 6-8 bullets an AE can act on, from the state alone. */
export function templateSummary(state: LeadSnapshot, ownerName: string): Summary {
  const lead = requireLead(state, "summarize");
  const bullets = [whoLine(lead, state), companyLine(lead, state), whyNowLine(lead)];
  const score = state.score;
  if (score) {
    const top = [...score.reasons]
      .sort((a, b) => Math.abs(b.points) - Math.abs(a.points))
      .slice(0, 4)
      .map((r) => r.text);
    bullets.push(`Score ${score.value} (${score.tier})${top.length > 0 ? `: ${top.join("; ")}` : ""}`);
  }
  if (state.route) bullets.push(`Routed by rule "${state.route.ruleName}" to ${ownerName}`);
  if (state.similarAccounts.length > 0) {
    const similar = state.similarAccounts
      .map((a) => `${a.name} (${a.outcome}${a.outcome === "won" ? `, ${money(a.arr)} ARR` : ""}): ${a.note}`)
      .join(" | ");
    bullets.push(`Similar accounts: ${similar}`);
  } else {
    bullets.push("Similar accounts: none found");
  }
  bullets.push(nextStep(state, ownerName));
  return { bullets, generatedBy: "template" };
}
