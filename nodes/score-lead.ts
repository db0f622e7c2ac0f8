import { asDelimitedData, renderPrompt } from "../domain/prompt.ts";
import { flattenFacts, groundAssessment } from "../domain/scoring/grounding.ts";
import { clampScore, scoreByRules, tierOf } from "../domain/scoring/rules.ts";
import type { ScoringConfig } from "../domain/scoring/schema.ts";
import { requireLead } from "../domain/snapshot.ts";
import type { Enrichment, Issue, LlmUsage, NormalizedLead, Score } from "../domain/types.ts";
import type { GraphDeps, LeadNode } from "./deps.ts";

function icpLine(config: ScoringConfig): string {
  const industries = Object.entries(config.industries)
    .filter(([, points]) => points >= 10)
    .map(([name]) => name);
  return `industries ${industries.join(", ")}; larger companies score higher`;
}

type Deps = Pick<GraphDeps, "scoring" | "llm" | "prompts" | "onLlmUsage" | "configVersions">;

/** Asks the LLM about a grey-zone lead; returns the grounded score or the rules-only one with a warning. */
async function consultLlm(
  deps: Deps,
  base: Score,
  lead: NormalizedLead,
  enrichment: Enrichment,
  config: ScoringConfig,
): Promise<{ score: Score; warnings: Issue[]; usage: LlmUsage[] }> {
  const facts = flattenFacts(lead, enrichment);
  const system = renderPrompt(deps.prompts().scoring, {
    rule_score: base.ruleScore,
    max_adjustment: config.llm.maxAdjustment,
    icp: icpLine(config),
  });
  let answer: Awaited<ReturnType<GraphDeps["llm"]["assessLead"]>>;
  try {
    answer = await deps.llm.assessLead({ system, data: asDelimitedData(facts) });
  } catch (err) {
    const message = `LLM scoring failed, rules-only score kept: ${(err as Error).message}`;
    return { score: base, warnings: [{ node: "scoreLead", code: "llm_failed", message }], usage: [] };
  }
  const usage = answer.usage ? [answer.usage] : [];
  if (answer.usage) deps.onLlmUsage?.(answer.usage);

  const grounded = groundAssessment(answer, facts, config.llm.maxAdjustment);
  if (!grounded.ok) {
    const message = `LLM answer rejected, rules-only score kept: ${grounded.reason}`;
    return { score: base, warnings: [{ node: "scoreLead", code: "llm_ungrounded", message }], usage };
  }
  const value = clampScore(base.ruleScore + grounded.adjustment);
  return {
    score: {
      ...base,
      value,
      tier: tierOf(value, config),
      llm: {
        adjustment: grounded.adjustment,
        proposed: grounded.proposed,
        reasons: grounded.reasons,
        evidence: grounded.evidence,
        model: answer.usage?.model ?? deps.llm.name,
      },
      evidence: grounded.evidence,
    },
    warnings: [],
    usage,
  };
}

/** Rules first; the LLM only in the grey zone, and only within the configured bound. */
export function createScoreLeadNode(deps: Deps): LeadNode {
  return async (state) => {
    const lead = requireLead(state, "scoreLead");
    const enrichment = state.enrichment ?? { values: {}, provenance: {} };
    const config = deps.scoring();
    const rules = scoreByRules(lead, enrichment, config);
    const base: Score = {
      value: rules.ruleScore,
      tier: rules.tier,
      ruleScore: rules.ruleScore,
      greyZone: rules.greyZone,
      reasons: rules.reasons,
      evidence: rules.reasons.map((r) => ({ field: r.field, value: r.value })),
    };
    const version = deps.configVersions?.().scoring;
    if (version) base.configVersion = version;
    if (!rules.greyZone || !deps.llm.configured) return { score: base };
    const { score, warnings, usage } = await consultLlm(deps, base, lead, enrichment, config);
    return { score, warnings, llmUsage: usage };
  };
}
