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

/** Reads and validates a past-accounts file; an invalid entry is an error naming its JSON path. */
export function loadPastAccounts(path: string): PastAccount[] {
  const parsed = z.array(pastAccountSchema).safeParse(JSON.parse(readFileSync(path, "utf8")));
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.slice(0, 10).map((i) => `${jsonPath(i.path)}: ${i.message}`);
  throw new Error(`${path}: invalid past accounts:\n  ${problems.join("\n  ")}`);
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
