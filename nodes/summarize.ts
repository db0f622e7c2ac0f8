import { leadText } from "../domain/accounts/profile.ts";
import { asDelimitedData, renderPrompt } from "../domain/prompt.ts";
import type { LeadStateValues as LeadState } from "../domain/snapshot.ts";
import { requireLead } from "../domain/snapshot.ts";
import { ownerDisplayName, templateSummary } from "../domain/summary.ts";
import type { Issue, LlmUsage, SimilarAccount, Summary } from "../domain/types.ts";
import type { GraphDeps, LeadNode } from "./deps.ts";

const SIMILAR_TOP_K = 3;

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
