import { randomUUID } from "node:crypto";
import { routeLabel } from "../domain/labels.ts";
import type { GraphDeps } from "../nodes/deps.ts";
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

/** Dry-runs every labelled case (no counters, messages or CRM writes) and scores owner and tier. */
export async function evaluateCases(
  deps: GraphDeps,
  cases: LeadCase[],
  options: PreviewOptions = {},
): Promise<CasesReport> {
  const results: CaseResult[] = [];
  for (const c of cases) {
    try {
      const state = await previewLead(
        deps,
        {
          leadId: `preview-${randomUUID()}`,
          receivedAt: deps.clock().toISOString(),
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
        ownerOk: c.expectedOwner === undefined || c.expectedOwner === actualOwner,
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
