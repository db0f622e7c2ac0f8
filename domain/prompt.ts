/** Prompt templates: their placeholders, filling them, and lead data wrapped so it cannot speak as instructions. */

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

/** Fills placeholders; a value missing here is a programming error, so it throws. */
export function renderPrompt(template: string, values: Record<string, string | number>): string {
  return template.replace(PLACEHOLDER, (_m, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`no value for placeholder {{${key}}}`);
    return String(value);
  });
}

/**
 * Wraps data for the model so nothing in it can close the block early: every `<` is escaped,
 * so a lead cannot forge `</lead_data>` and speak outside its data.
 */
export function asDelimitedData(facts: Record<string, unknown>): string {
  const json = JSON.stringify(facts, null, 2).replaceAll("<", "\\u003c");
  return `<lead_data>\n${json}\n</lead_data>`;
}
