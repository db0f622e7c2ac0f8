import type { RoutingFacts } from "./facts.ts";
import type { Conditions, Range } from "./schema.ts";

/** One condition of a rule, checked against the facts, with the words the explanation uses. */
export interface ConditionCheck {
  holds: boolean;
  text: string;
}

const listText = (values: readonly string[]) => `[${values.join(", ")}]`;

export function rangeText(r: Range): string {
  if (r.min !== undefined && r.max !== undefined) return `${r.min}..${r.max}`;
  return r.min !== undefined ? `≥${r.min}` : `≤${r.max}`;
}

function inList(name: string, value: string | undefined, values: readonly string[]): ConditionCheck {
  if (value === undefined) return { holds: false, text: `${name} unknown` };
  const holds = values.includes(value);
  return { holds, text: `${name} ${value} ${holds ? "in" : "not in"} ${listText(values)}` };
}

function inRange(name: string, value: number | undefined, r: Range): ConditionCheck {
  if (value === undefined || Number.isNaN(value)) return { holds: false, text: `${name} unknown` };
  const holds = (r.min === undefined || value >= r.min) && (r.max === undefined || value <= r.max);
  return { holds, text: `${name} ${value} ${holds ? "in" : "not in"} ${rangeText(r)}` };
}

/**
 * Every condition of `when`, in a fixed order. Facts must already be normalised (normalizeFacts):
 * the config side is normalised at load, so comparisons here are exact.
 */
export function checkConditions(when: Conditions, facts: RoutingFacts): ConditionCheck[] {
  const checks: ConditionCheck[] = [];
  if (when.country) checks.push(inList("country", facts.country, when.country));
  if (when.region) checks.push(inList("region", facts.region, when.region));
  if (when.state) checks.push(inList("state", facts.state, when.state));
  if (when.postalPrefix) {
    const code = facts.postalCode;
    const prefixes = when.postalPrefix;
    if (code === undefined) checks.push({ holds: false, text: "postal code unknown" });
    else {
      const hit = prefixes.find((p) => code.startsWith(p));
      checks.push(
        hit === undefined
          ? { holds: false, text: `postal code ${code} starts with none of ${listText(prefixes)}` }
          : { holds: true, text: `postal code ${code} starts with ${hit}` },
      );
    }
  }
  if (when.industry) checks.push(inList("industry", facts.industry, when.industry));
  if (when.employees) checks.push(inRange("employees", facts.employees, when.employees));
  if (when.revenue) checks.push(inRange("revenue", facts.revenue, when.revenue));
  if (when.tier) checks.push(inList("tier", facts.tier, when.tier));
  if (when.source) checks.push(inList("source", facts.source, when.source));
  if (when.existingAccount !== undefined) {
    const known = facts.existingAccount;
    checks.push(
      known === undefined
        ? { holds: false, text: "existing account unknown" }
        : {
            holds: known === when.existingAccount,
            text: `existing account ${known ? "yes" : "no"}, needs ${when.existingAccount ? "yes" : "no"}`,
          },
    );
  }
  return checks;
}
