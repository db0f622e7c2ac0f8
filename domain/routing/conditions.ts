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

/** The yes/no conditions, in the order they are checked and with the words the explanation uses. */
const YES_NO = [
  ["existingAccount", "existing account"],
  ["existingContact", "existing contact"],
  ["returning", "returning lead"],
] as const;

function yesNo(name: string, known: boolean | undefined, wanted: boolean): ConditionCheck {
  if (known === undefined) return { holds: false, text: `${name} unknown` };
  return { holds: known === wanted, text: `${name} ${known ? "yes" : "no"}, needs ${wanted ? "yes" : "no"}` };
}

type Predicate = (facts: RoutingFacts) => boolean;

const isIn =
  (
    key: "country" | "region" | "state" | "industry" | "tier" | "source",
    values: readonly string[],
  ): Predicate =>
  (facts) => {
    const value = facts[key];
    return value !== undefined && values.includes(value);
  };

const isWithin =
  (key: "employees" | "revenue", r: Range): Predicate =>
  (facts) => {
    const value = facts[key];
    return (
      value !== undefined &&
      !Number.isNaN(value) &&
      (r.min === undefined || value >= r.min) &&
      (r.max === undefined || value <= r.max)
    );
  };

/**
 * `when` as one function of the facts that answers whether every condition holds, as
 * `checkConditions(when, facts).every((c) => c.holds)` does, without writing the words and stopping at the
 * first condition that fails. A lead passes over thousands of rules this way (issue 12); only the rules it
 * stops at are explained. The engine compiles a config's rules once.
 */
export function compileConditions(when: Conditions): Predicate {
  const checks: Predicate[] = [];
  if (when.country) checks.push(isIn("country", when.country));
  if (when.region) checks.push(isIn("region", when.region));
  if (when.state) checks.push(isIn("state", when.state));
  if (when.postalPrefix) {
    const prefixes = when.postalPrefix;
    checks.push((facts) => {
      const code = facts.postalCode;
      return code !== undefined && prefixes.some((p) => code.startsWith(p));
    });
  }
  if (when.industry) checks.push(isIn("industry", when.industry));
  if (when.employees) checks.push(isWithin("employees", when.employees));
  if (when.revenue) checks.push(isWithin("revenue", when.revenue));
  if (when.tier) checks.push(isIn("tier", when.tier));
  if (when.source) checks.push(isIn("source", when.source));
  for (const [key] of YES_NO) {
    const wanted = when[key];
    if (wanted !== undefined) checks.push((facts) => facts[key] === wanted);
  }
  const [first, second] = checks;
  if (first === undefined) return () => true;
  if (second === undefined) return first;
  if (checks.length === 2) return (facts) => first(facts) && second(facts);
  return (facts) => checks.every((check) => check(facts));
}

/** Whether every condition of `when` holds (see `compileConditions`). */
export function conditionsHold(when: Conditions, facts: RoutingFacts): boolean {
  return compileConditions(when)(facts);
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
  for (const [key, name] of YES_NO) {
    const wanted = when[key];
    if (wanted !== undefined) checks.push(yesNo(name, facts[key], wanted));
  }
  return checks;
}
