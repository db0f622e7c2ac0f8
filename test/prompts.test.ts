import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkPrompt, loadPrompts } from "../config/prompts.ts";
import { renderPrompt } from "../domain/prompt.ts";

describe("prompts", () => {
  it("the shipped prompts use exactly their placeholders", () => {
    const loaded = loadPrompts("prompts");
    expect(loaded.ok).toBe(true);
  });

  it("reports missing and unknown placeholders by file", () => {
    const problems = checkPrompt("scoring", "score {{rule_score}} and {{icp}} and {{mood}}");
    expect(problems).toEqual([
      { path: "scoring.md", message: "missing placeholder {{max_adjustment}}" },
      {
        path: "scoring.md",
        message: "unknown placeholder {{mood}} (allowed: rule_score, max_adjustment, icp)",
      },
    ]);
  });

  it("reports an unreadable prompt file", () => {
    const dir = mkdtempSync(join(tmpdir(), "prompts-"));
    writeFileSync(join(dir, "scoring.md"), "{{rule_score}} {{max_adjustment}} {{icp}}");
    const loaded = loadPrompts(dir);
    expect(loaded.ok).toBe(false);
    if (!loaded.ok) expect(loaded.errors[0]?.path).toBe("summarize.md");
  });

  it("renders values and refuses a missing one", () => {
    expect(renderPrompt("a {{ x }} b {{y}}", { x: 1, y: "two" })).toBe("a 1 b two");
    expect(() => renderPrompt("{{x}}", {})).toThrow("{{x}}");
  });
});
