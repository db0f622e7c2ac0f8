/**
 * Warnings about a routing.json that is valid but probably wrong: rules that can never get a lead, copies,
 * catch-alls in the middle, state names or codes that do not exist, pools nobody can take leads from, postal
 * prefixes that cannot belong to the rule's countries, and values outside the known vocabulary (with the
 * nearest known value when it looks like a typo). Pure: the vocabulary comes from the caller.
 *
 * Over 300 lines because each lint check is short and they share one walk over the config.
 */
import { regionOf } from "../normalize/region.ts";
import { isStateCode, stateCode } from "../normalize/us-ca-states.ts";
import type { Assignment, Conditions, Owner, Range, RoutingConfig, RoutingRule } from "./schema.ts";

export interface LintWarning {
  /** JSON path of the value the warning is about. */
  path: string;
  /** Short stable code, e.g. "unreachable-rule". */
  code: string;
  message: string;
}

/** Values RevOps can be expected to use; anything else in a rule is probably a typo. */
export interface Vocabulary {
  industries: Iterable<string>;
  sources: Iterable<string>;
}

/** `rule 3 "na-west"`: 1-based, as `leadgraph route` and the route explanation print rules. */
export function ruleLabel(index: number, rule: Pick<RoutingRule, "name">): string {
  return `rule ${index + 1} "${rule.name}"`;
}

// ---------------------------------------------------------------- coverage

const LIST_KEYS = ["country", "region", "state", "industry", "tier", "source"] as const;

function rangeWithin(inner: Range, outer: Range): boolean {
  const minOk = outer.min === undefined || (inner.min !== undefined && inner.min >= outer.min);
  const maxOk = outer.max === undefined || (inner.max !== undefined && inner.max <= outer.max);
  return minOk && maxOk;
}

/** Every lead the `inner` conditions on `key` let through, the `outer` ones let through too. */
function keyCovered(key: string, outer: Conditions, inner: Conditions): boolean {
  const o = outer as Record<string, unknown>;
  const i = inner as Record<string, unknown>;
  if ((LIST_KEYS as readonly string[]).includes(key)) {
    const allowed = o[key] as readonly string[];
    const wanted = i[key] as readonly string[] | undefined;
    if (wanted) return wanted.every((v) => allowed.includes(v));
    // A region condition also covers a rule that names only countries of that region.
    if (key === "region" && inner.country)
      return inner.country.every((c) => {
        const region = regionOf(c);
        return region !== undefined && allowed.includes(region);
      });
    return false;
  }
  if (key === "postalPrefix") {
    const prefixes = outer.postalPrefix ?? [];
    return inner.postalPrefix?.every((p) => prefixes.some((q) => p.startsWith(q))) ?? false;
  }
  if (key === "employees" || key === "revenue") {
    const range = i[key] as Range | undefined;
    return range !== undefined && rangeWithin(range, o[key] as Range);
  }
  if (key === "existingAccount" || key === "existingContact" || key === "returning")
    return i[key] !== undefined && i[key] === o[key];
  // A condition this lint does not know: assume it may let through leads the other rule's do not.
  return false;
}

/** Every lead `inner` matches, `outer` matches too. */
export function covers(outer: Conditions, inner: Conditions): boolean {
  return Object.entries(outer).every(([key, value]) => value === undefined || keyCovered(key, outer, inner));
}

/**
 * Can `owner` be out for a lead (inactive, away, capped)? Working hours never pass a rule over: a named owner
 * keeps the lead, and a pool gives it to the member who starts soonest.
 */
function mayBeUnavailable(owner: Owner | undefined): boolean {
  if (!owner || owner.active === false) return true;
  return (owner.away?.length ?? 0) > 0 || owner.dailyCap !== undefined;
}

/** The assignment always has someone to take a lead, so no lead it matches ever reaches a later rule. */
function alwaysAvailable(assign: Assignment, config: RoutingConfig): boolean {
  const ownerById = (id: string) => config.owners.find((o) => o.id === id);
  switch (assign.type) {
    case "queue":
      return config.queues.some((q) => q.id === assign.queue);
    case "owner":
      return !mayBeUnavailable(ownerById(assign.owner));
    case "pool": {
      const pool = config.pools.find((p) => p.id === assign.pool);
      return pool?.members.some((m) => !mayBeUnavailable(ownerById(m.owner))) ?? false;
    }
    default:
      // The account owner exists only for some leads.
      return false;
  }
}

// ---------------------------------------------------------------- postal codes

/**
 * Postal code shapes without spaces: D a digit, A a letter, X either. A prefix fits a country when it fits
 * the start of one of its shapes. Countries not listed are not checked.
 */
const POSTAL_SHAPES: Record<string, string[]> = {
  US: ["DDDDD", "DDDDDDDDD"],
  CA: ["ADADAD"],
  GB: ["ADDAA", "ADDDAA", "AADDAA", "AADDDAA", "ADADAA", "AADADAA"],
  IE: ["ADDXXXX"],
  DE: ["DDDDD"],
  FR: ["DDDDD"],
  ES: ["DDDDD"],
  IT: ["DDDDD"],
  NL: ["DDDDAA"],
  BE: ["DDDD"],
  AT: ["DDDD"],
  CH: ["DDDD"],
  SE: ["DDDDD"],
  DK: ["DDDD"],
  NO: ["DDDD"],
  PL: ["DDDDD"],
  PT: ["DDDDDDD"],
  AU: ["DDDD"],
  NZ: ["DDDD"],
  JP: ["DDDDDDD"],
  IN: ["DDDDDD"],
  SG: ["DDDDDD"],
  BR: ["DDDDDDDD"],
  MX: ["DDDDD"],
};

function fitsShape(prefix: string, shape: string): boolean {
  if (prefix.length > shape.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    const c = prefix.charAt(i);
    const want = shape.charAt(i);
    const digit = c >= "0" && c <= "9";
    const letter = c >= "A" && c <= "Z";
    if ((want === "D" && !digit) || (want === "A" && !letter) || (want === "X" && !digit && !letter))
      return false;
  }
  return true;
}

// ---------------------------------------------------------------- typos

/** Optimal string alignment distance (Levenshtein with adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array(rows * cols).fill(0);
  const at = (i: number, j: number) => d[i * cols + j] ?? 0;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a.charAt(i - 1) === b.charAt(j - 1) ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a.charAt(i - 1) === b.charAt(j - 2) && a.charAt(i - 2) === b.charAt(j - 1))
        best = Math.min(best, at(i - 2, j - 2) + 1);
      d[i * cols + j] = best;
    }
  }
  return at(a.length, b.length);
}

/** The known value `value` is most likely a typo of: within 2 edits and a third of its length. */
export function nearest(value: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const distance = editDistance(value, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const limit = Math.min(2, Math.max(1, Math.floor(value.length / 3)));
  return best !== undefined && bestDistance > 0 && bestDistance <= limit ? best : undefined;
}

// ---------------------------------------------------------------- the lint

function canonical(rule: RoutingRule): string {
  const sorted = (value: unknown): unknown =>
    Array.isArray(value)
      ? [...value].map(sorted).sort()
      : value && typeof value === "object"
        ? Object.fromEntries(
            Object.entries(value)
              .filter(([, v]) => v !== undefined)
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([k, v]) => [k, sorted(v)]),
          )
        : value;
  return JSON.stringify([sorted(rule.when), sorted(rule.assign)]);
}

function isEmpty(when: Conditions): boolean {
  return Object.values(when).every((v) => v === undefined);
}

function vocabularyWarnings(
  path: string,
  what: string,
  values: readonly string[] | undefined,
  known: ReadonlySet<string>,
): LintWarning[] {
  if (!values || known.size === 0) return [];
  return values.flatMap((value, v) => {
    if (known.has(value)) return [];
    const near = nearest(value, known);
    return [
      {
        path: `${path}[${v}]`,
        code: near ? "likely-typo" : `unknown-${what}`,
        message: near
          ? `${what} "${value}" is not a known ${what}; did you mean "${near}"?`
          : `${what} "${value}" is not a known ${what} (known: ${[...known].sort().join(", ")})`,
      },
    ];
  });
}

/** Every warning for `config`, in file order. */
export function lintRouting(config: RoutingConfig, vocabulary: Vocabulary): LintWarning[] {
  const warnings: LintWarning[] = [];
  const industries = new Set([...vocabulary.industries].map((s) => s.toLowerCase()));
  const sources = new Set([...vocabulary.sources].map((s) => s.toLowerCase()));
  const seen = new Map<string, number>();
  const last = config.rules.length - 1;

  config.rules.forEach((rule, r) => {
    const at = `$.rules[${r}]`;
    const label = ruleLabel(r, rule);

    const copy = seen.get(canonical(rule));
    if (copy !== undefined)
      warnings.push({
        path: at,
        code: "duplicate-rule",
        message: `${label} is a copy of ${ruleLabel(copy, config.rules[copy] as RoutingRule)}`,
      });
    else seen.set(canonical(rule), r);

    if (isEmpty(rule.when) && r < last)
      warnings.push({
        path: `${at}.when`,
        code: "catch-all-before-end",
        message: `${label} has no conditions: it takes every lead that reaches it, so the ${last - r} rule(s) after it only get what its assignee cannot take`,
      });

    if (copy === undefined) {
      const shadow = config.rules.findIndex(
        (earlier, e) => e < r && covers(earlier.when, rule.when) && alwaysAvailable(earlier.assign, config),
      );
      if (shadow !== -1)
        warnings.push({
          path: at,
          code: "unreachable-rule",
          message: `${label} can never match: ${ruleLabel(shadow, config.rules[shadow] as RoutingRule)} comes first, matches every lead it would, and always has someone available`,
        });
    }

    (rule.when.state ?? []).forEach((state, s) => {
      if (isStateCode(state)) return;
      const code = stateCode(state, undefined);
      warnings.push({
        path: `${at}.when.state[${s}]`,
        code: code ? "state-name" : "unknown-state",
        message: code
          ? `state "${state}" is a name; rules compare codes: use "${code}"`
          : `state "${state}" is not a US state or Canadian province code`,
      });
    });

    const countries = (rule.when.country ?? []).filter((c) => POSTAL_SHAPES[c]);
    if (countries.length > 0)
      (rule.when.postalPrefix ?? []).forEach((prefix, p) => {
        const fits = countries.some((c) => POSTAL_SHAPES[c]?.some((shape) => fitsShape(prefix, shape)));
        if (!fits)
          warnings.push({
            path: `${at}.when.postalPrefix[${p}]`,
            code: "impossible-postal-prefix",
            message: `postal prefix "${prefix}" cannot start a postal code of ${countries.join(", ")}`,
          });
      });

    warnings.push(...vocabularyWarnings(`${at}.when.industry`, "industry", rule.when.industry, industries));
    warnings.push(...vocabularyWarnings(`${at}.when.source`, "source", rule.when.source, sources));
  });

  config.pools.forEach((pool, p) => {
    const active = pool.members.some((m) => config.owners.find((o) => o.id === m.owner)?.active !== false);
    if (!active)
      warnings.push({
        path: `$.pools[${p}]`,
        code: "pool-without-active-member",
        message: `pool "${pool.id}" has no active member: every lead routed to it falls through`,
      });
  });
  return warnings;
}
