import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ConfigProblem } from "./validation.ts";

/** The placeholders each prompt must use, and may only use. */
export const PROMPT_PLACEHOLDERS = {
  scoring: ["rule_score", "max_adjustment", "icp"],
  summarize: ["min_bullets", "max_bullets", "owner_name"],
} as const;

export type PromptName = keyof typeof PROMPT_PLACEHOLDERS;
export type Prompts = Record<PromptName, string>;

const PLACEHOLDER = /\{\{\s*([a-zA-Z0-9_]+)\s*\}\}/g;

export function placeholdersOf(template: string): Set<string> {
  return new Set(Array.from(template.matchAll(PLACEHOLDER), (m) => m[1] as string));
}

export function checkPrompt(name: PromptName, template: string): ConfigProblem[] {
  const expected: readonly string[] = PROMPT_PLACEHOLDERS[name];
  const found = placeholdersOf(template);
  const problems: ConfigProblem[] = [];
  for (const p of expected)
    if (!found.has(p)) problems.push({ path: `${name}.md`, message: `missing placeholder {{${p}}}` });
  for (const p of found)
    if (!expected.includes(p))
      problems.push({
        path: `${name}.md`,
        message: `unknown placeholder {{${p}}} (allowed: ${expected.join(", ")})`,
      });
  return problems;
}

export function loadPrompts(
  dir: string,
): { ok: true; config: Prompts } | { ok: false; errors: ConfigProblem[] } {
  const prompts: Partial<Prompts> = {};
  const errors: ConfigProblem[] = [];
  for (const name of Object.keys(PROMPT_PLACEHOLDERS) as PromptName[]) {
    let text: string;
    try {
      text = readFileSync(join(dir, `${name}.md`), "utf8");
    } catch (err) {
      errors.push({ path: `${name}.md`, message: `cannot read: ${(err as Error).message}` });
      continue;
    }
    errors.push(...checkPrompt(name, text));
    prompts[name] = text;
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, config: prompts as Prompts };
}

/** Fills placeholders; a value missing here is a programming error, so it throws. */
export function renderPrompt(template: string, values: Record<string, string | number>): string {
  return template.replace(PLACEHOLDER, (_m, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`no value for placeholder {{${key}}}`);
    return String(value);
  });
}
