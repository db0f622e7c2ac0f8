import { readFileSync } from "node:fs";
import { loadPrompts } from "../../config/prompts.ts";
import { parseRoutingConfig } from "../../config/routing.ts";
import { parseScoringConfig } from "../../config/scoring.ts";
import type { Prompts } from "../../domain/prompt.ts";
import type { RoutingConfig } from "../../domain/routing/schema.ts";
import type { ScoringConfig } from "../../domain/scoring/schema.ts";
import type { NormalizedLead } from "../../domain/types.ts";
import { initialState } from "../../graph/build.ts";
import type { LeadState } from "../../graph/state.ts";

export function shippedRouting(): RoutingConfig {
  const parsed = parseRoutingConfig(JSON.parse(readFileSync("config/routing.json", "utf8")));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.config;
}

export function shippedScoring(): ScoringConfig {
  const parsed = parseScoringConfig(JSON.parse(readFileSync("config/scoring.json", "utf8")));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.config;
}

export function shippedPrompts(): Prompts {
  const loaded = loadPrompts("prompts");
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  return loaded.config;
}

export function aLead(overrides: Partial<NormalizedLead> = {}): NormalizedLead {
  return {
    email: "dana.lee@northwind.io",
    emailDomain: "northwind.io",
    firstName: "Dana",
    lastName: "Lee",
    fullName: "Dana Lee",
    company: "Northwind",
    companyDomain: "northwind.io",
    title: "VP Engineering",
    country: "US",
    region: "NA",
    state: "CA",
    source: "web",
    utm: {},
    ...overrides,
  };
}

/** A hand-built state after capture and enrichment, for node unit tests. */
export function aState(overrides: Partial<LeadState> = {}): LeadState {
  return {
    ...initialState({ leadId: "lead-1", receivedAt: "2026-11-21T10:00:00.000Z", raw: {} }),
    lead: aLead(),
    enrichment: {
      values: {
        industry: "software",
        employees: 480,
        seniority: "vp",
        department: "engineering",
        freeMail: false,
        disposable: false,
        companyName: "Northwind Systems",
      },
      provenance: {},
    },
    ...overrides,
  };
}
