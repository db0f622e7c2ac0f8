import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PROMPT_PLACEHOLDERS, type PromptName, type Prompts, placeholdersOf } from "../domain/prompt.ts";
import type { ConfigProblem } from "./validation.ts";

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
