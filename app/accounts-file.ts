import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { z } from "zod";
import { jsonPath } from "../config/validation.ts";
import type { PastAccount } from "../domain/types.ts";

export const pastAccountSchema = z.strictObject({
  id: z.string().trim().min(1),
  name: z.string().trim().min(1),
  domain: z.string().trim().min(1),
  industry: z.string().trim().min(1),
  employees: z.number().int().min(0),
  country: z.string().length(2),
  region: z.enum(["NA", "EMEA", "APAC", "LATAM"]),
  outcome: z.enum(["won", "lost"]),
  arr: z.number().min(0),
  note: z.string(),
});

/**
 * Reads and validates a past-accounts file; an invalid entry is an error naming its JSON path. An entry that
 * passes `isParsedAccount` is already what the schema would return and is kept as parsed; any other entry goes
 * through the schema, which gives its output or its problems (zod costs most of a 100,000-account load else).
 */
export function loadPastAccounts(path: string): PastAccount[] {
  const data: unknown = JSON.parse(readFileSync(path, "utf8"));
  if (!Array.isArray(data)) return parseWholly(path, data);
  const problems: string[] = [];
  for (let i = 0; i < data.length && problems.length < MAX_PROBLEMS; i++) {
    const entry: unknown = data[i];
    if (isParsedAccount(entry)) continue;
    const parsed = pastAccountSchema.safeParse(entry);
    if (parsed.success) data[i] = parsed.data;
    else for (const issue of parsed.error.issues) problems.push(problem([i, ...issue.path], issue.message));
  }
  if (problems.length > 0) throw invalid(path, problems);
  return data as PastAccount[];
}

const MAX_PROBLEMS = 10;

function parseWholly(path: string, data: unknown): PastAccount[] {
  const parsed = z.array(pastAccountSchema).safeParse(data);
  if (parsed.success) return parsed.data;
  throw invalid(
    path,
    parsed.error.issues.map((i) => problem(i.path, i.message)),
  );
}

function problem(path: ReadonlyArray<PropertyKey>, message: string): string {
  return `${jsonPath(path)}: ${message}`;
}

function invalid(path: string, problems: string[]): Error {
  return new Error(`${path}: invalid past accounts:\n  ${problems.slice(0, MAX_PROBLEMS).join("\n  ")}`);
}

const ACCOUNT_KEYS = Object.keys(pastAccountSchema.shape);
const REGIONS: ReadonlySet<unknown> = new Set(pastAccountSchema.shape.region.options);
const OUTCOMES: ReadonlySet<unknown> = new Set(pastAccountSchema.shape.outcome.options);

/**
 * Whether the schema would accept the entry and return an equal object with the same key order: its own keys
 * exactly the schema's, in the schema's order, and every string the schema trims already trimmed. Stricter
 * than the schema where that is simpler (an entry this turns away still gets the schema's verdict).
 */
function isParsedAccount(entry: unknown): entry is PastAccount {
  if (typeof entry !== "object" || entry === null || Object.getPrototypeOf(entry) !== Object.prototype)
    return false;
  let keys = 0;
  for (const key in entry) if (key !== ACCOUNT_KEYS[keys++]) return false;
  if (keys !== ACCOUNT_KEYS.length) return false;
  const a = entry as Record<string, unknown>;
  return (
    isTrimmedName(a.id) &&
    isTrimmedName(a.name) &&
    isTrimmedName(a.domain) &&
    isTrimmedName(a.industry) &&
    Number.isSafeInteger(a.employees) &&
    (a.employees as number) >= 0 &&
    typeof a.country === "string" &&
    a.country.length === 2 &&
    REGIONS.has(a.region) &&
    OUTCOMES.has(a.outcome) &&
    typeof a.arr === "number" &&
    Number.isFinite(a.arr) &&
    a.arr >= 0 &&
    typeof a.note === "string"
  );
}

function isTrimmedName(value: unknown): boolean {
  return typeof value === "string" && value.length > 0 && value.trim() === value;
}

/** The local similar-accounts corpus: `leadgraph accounts index` writes it, the embedded index loads it. */
export function localAccountsPath(dataDir: string): string {
  return join(dataDir, "accounts.json");
}

/** The corpus the in-process index starts from: the indexed one in DATA_DIR, else the fixtures. */
export function localAccountsSource(dataDir: string, fixturesDir: string): string {
  const indexed = localAccountsPath(dataDir);
  return existsSync(indexed) ? indexed : join(fixturesDir, "accounts.json");
}

/** Writes the corpus atomically (temp file, then rename), sorted by id so a second run writes the same bytes. */
export function writeLocalAccounts(dataDir: string, accounts: PastAccount[]): string {
  const path = localAccountsPath(dataDir);
  mkdirSync(dirname(path), { recursive: true });
  const unique = [...new Map(accounts.map((a) => [a.id, a])).values()].sort((a, b) =>
    a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
  );
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(unique, null, 2)}\n`);
  renameSync(temp, path);
  return path;
}
