import type { Enrichment, EnrichmentField, Issue, NormalizedLead } from "../domain/types.ts";
import type { Enricher, EnricherResult } from "../tools/ports.ts";
import type { GraphDeps, LeadNode } from "./deps.ts";

export interface ChainOptions {
  /** Per-enricher budget; a slower enricher is abandoned with a warning. Default 5000 ms. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 5_000;
const COMPANY_FIELDS: EnrichmentField[] = ["companyName", "industry", "employees", "revenue"];

class EnricherTimeout extends Error {
  override readonly name = "EnricherTimeout";
}

function warning(code: string, message: string): Issue {
  return { node: "enrich", code, message };
}

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new EnricherTimeout(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

function clampConfidence(value: number | undefined): number {
  if (value === undefined || !Number.isFinite(value)) return 1;
  return Math.min(1, Math.max(0, value));
}

function merge(into: Enrichment, source: string, result: EnricherResult): void {
  for (const [field, value] of Object.entries(result.values) as Array<[EnrichmentField, unknown]>) {
    // Earlier enrichers win: a later source only fills gaps.
    if (value === undefined || value === null || into.values[field] !== undefined) continue;
    Object.assign(into.values, { [field]: value });
    into.provenance[field] = { source, confidence: clampConfidence(result.confidence?.[field]) };
  }
}

function reason(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/**
 * Runs the enrichers in order and merges what they know, with provenance per field. Enrichment
 * is never worth losing a lead over: a failing or slow enricher, or a company nobody knows,
 * becomes a warning and the lead goes on.
 */
export async function runEnrichers(
  lead: NormalizedLead,
  enrichers: readonly Enricher[],
  options: ChainOptions = {},
): Promise<{ enrichment: Enrichment; warnings: Issue[] }> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const enrichment: Enrichment = { values: {}, provenance: {} };
  const warnings: Issue[] = [];
  for (const enricher of enrichers) {
    try {
      const soFar = structuredClone(enrichment);
      const result = await withTimeout(
        Promise.resolve().then(() => enricher.enrich(lead, soFar)),
        timeoutMs,
      );
      if (result) merge(enrichment, enricher.name, result);
    } catch (error) {
      const code = error instanceof EnricherTimeout ? "enricher_timeout" : "enricher_failed";
      warnings.push(warning(code, `enricher ${enricher.name} skipped: ${reason(error)}`));
    }
  }
  if (!lead.companyDomain) {
    warnings.push(
      warning("unknown_company", "no company domain (no website, and a free-mail or disposable email)"),
    );
  } else if (!COMPANY_FIELDS.some((field) => enrichment.values[field] !== undefined)) {
    warnings.push(warning("unknown_company", `no enricher knows the company at ${lead.companyDomain}`));
  }
  return { enrichment, warnings };
}

/** The enrich node: runs the configured enricher chain over the captured lead. */
export function createEnrichNode(deps: Pick<GraphDeps, "enrichers">, options: ChainOptions = {}): LeadNode {
  return async (state) => {
    // Capture either writes a lead or fails the run, so a missing lead here is a wiring bug.
    if (!state.lead) throw new Error("enrich ran before capture wrote a lead");
    const { enrichment, warnings } = await runEnrichers(state.lead, deps.enrichers, options);
    return { enrichment, warnings };
  };
}
