import { renderPrompt } from "../config/prompts.ts";
import type { RoutingConfig } from "../config/routing.ts";
import type { GraphDeps, LeadNode } from "../graph/deps.ts";
import type { Issue, LeadState, NormalizedLead, SimilarAccount, Summary } from "../graph/state.ts";
import { leadText } from "../tools/embeddings/text.ts";
import type { LlmUsage } from "../tools/ports.ts";
import { requireLead } from "./require.ts";
import { asDelimitedData } from "./score-lead.ts";

const SIMILAR_TOP_K = 3;

function money(usd: number): string {
  if (usd >= 1_000_000_000) return `$${(usd / 1_000_000_000).toFixed(1)}B`;
  if (usd >= 1_000_000) return `$${(usd / 1_000_000).toFixed(1)}M`;
  if (usd >= 1_000) return `$${Math.round(usd / 1_000)}k`;
  return `$${usd}`;
}

function whoLine(lead: NormalizedLead, state: LeadState): string {
  const name = lead.fullName ?? ([lead.firstName, lead.lastName].filter(Boolean).join(" ") || lead.email);
  const seniority = state.enrichment?.values.seniority;
  const title = lead.title ? `${lead.title}${seniority ? ` (${seniority})` : ""}` : "title unknown";
  const where = [lead.state, lead.country].filter(Boolean).join(", ") || "location unknown";
  return `Who: ${name}, ${title}, ${where}`;
}

function companyLine(lead: NormalizedLead, state: LeadState): string {
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

function nextStep(state: LeadState, ownerName: string): string {
  if (state.path === "review")
    return `Next step: ${ownerName} reviews the fit before outreach (rules could not decide)`;
  const form = state.lead?.form?.toLowerCase() ?? "";
  if (form.includes("demo")) return `Next step: ${ownerName} books the demo within one business day`;
  if (state.score?.tier === "hot") return `Next step: ${ownerName} calls within one business day`;
  return `Next step: ${ownerName} sends a tailored intro email this week`;
}

export function ownerDisplayName(state: LeadState, routing: RoutingConfig): string {
  const ownerId = state.route?.ownerId;
  const owner = ownerId ? routing.owners.find((o) => o.id === ownerId) : undefined;
  if (owner) return owner.name;
  const queue = routing.queues.find((q) => q.id === state.route?.queue);
  return queue?.name ?? "the team";
}

/** The 6-8 bullets an AE can act on, from the state alone. */
export function templateSummary(state: LeadState, ownerName: string): Summary {
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

type Deps = Pick<GraphDeps, "embedder" | "vectorIndex" | "llm" | "prompts" | "routing" | "onLlmUsage">;

async function findSimilar(deps: Deps, state: LeadState): Promise<SimilarAccount[]> {
  const lead = requireLead(state, "summarize");
  const [vector] = await deps.embedder.embed([leadText(lead, state.enrichment)]);
  if (!vector) return [];
  const matches = await deps.vectorIndex.query(vector, { topK: SIMILAR_TOP_K });
  return matches.map((m) => ({ ...m.account, similarity: Math.round(m.score * 1000) / 1000 }));
}

/** Similar past accounts from the vector index, then the summary (LLM when configured, template otherwise). */
export function createSummarizeNode(deps: Deps): LeadNode {
  return async (state) => {
    const warnings: Issue[] = [];
    let similarAccounts: SimilarAccount[] = [];
    try {
      similarAccounts = await findSimilar(deps, state);
    } catch (err) {
      warnings.push({
        node: "summarize",
        code: "similar_failed",
        message: `similar accounts: ${(err as Error).message}`,
      });
    }
    const withSimilar = { ...state, similarAccounts };
    const ownerName = ownerDisplayName(state, deps.routing());
    const template = templateSummary(withSimilar, ownerName);
    if (!deps.llm.configured) return { similarAccounts, summary: template, warnings };

    const llmUsage: LlmUsage[] = [];
    try {
      const system = renderPrompt(deps.prompts().summarize, {
        min_bullets: 6,
        max_bullets: 8,
        owner_name: ownerName,
      });
      const data = asDelimitedData({
        lead: state.lead,
        enrichment: state.enrichment?.values,
        score: state.score && {
          value: state.score.value,
          tier: state.score.tier,
          reasons: state.score.reasons,
        },
        route: state.route && { rule: state.route.ruleName, owner: ownerName },
        similarAccounts,
      });
      const answer = await deps.llm.summarizeLead({ system, data });
      if (answer.usage) {
        llmUsage.push(answer.usage);
        deps.onLlmUsage?.(answer.usage);
      }
      if (answer.bullets.length === 0) throw new Error("empty summary");
      const summary: Summary = {
        bullets: answer.bullets.slice(0, 8),
        generatedBy: answer.usage?.model ?? deps.llm.name,
      };
      return { similarAccounts, summary, warnings, llmUsage };
    } catch (err) {
      warnings.push({
        node: "summarize",
        code: "llm_summary_failed",
        message: `template used: ${(err as Error).message}`,
      });
      return { similarAccounts, summary: template, warnings, llmUsage };
    }
  };
}
