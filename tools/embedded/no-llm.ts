import type { LlmAssessment } from "../../domain/types.ts";
import type { Llm, LlmSummary } from "../ports.ts";

/**
 * The embedded default when no LLM is configured. Nodes check `configured` and use rules and
 * templates instead, so reaching either method is a wiring bug worth failing loudly on.
 */
export class NoLlm implements Llm {
  readonly name = "none";
  readonly configured = false;

  async assessLead(): Promise<LlmAssessment> {
    throw new Error(
      "No LLM is configured (set OPENAI_API_KEY): check llm.configured before calling assessLead",
    );
  }

  async summarizeLead(): Promise<LlmSummary> {
    throw new Error(
      "No LLM is configured (set OPENAI_API_KEY): check llm.configured before calling summarizeLead",
    );
  }
}
