import { describe, expect, it } from "vitest";
import { pathAfterRouting } from "../graph/edges.ts";
import { appendItems, mergeCrm } from "../graph/state.ts";

describe("pathAfterRouting", () => {
  it.each([
    ["nurture", "nurtureLead"],
    ["qualified", "summarize"],
    ["review", "summarize"],
  ] as const)("path %s goes to %s", (path, next) => {
    expect(pathAfterRouting({ path })).toBe(next);
  });
});

describe("reducers", () => {
  it("appendItems keeps earlier items and adds new ones", () => {
    const a = [{ node: "enrich", code: "x", message: "m" }];
    expect(appendItems(a, [{ node: "scoreLead", code: "y", message: "n" }]).map((i) => i.code)).toEqual([
      "x",
      "y",
    ]);
    expect(appendItems(a, undefined)).toBe(a);
    expect(appendItems(a, [])).toBe(a);
  });

  it("mergeCrm merges ids written by different nodes", () => {
    expect(mergeCrm({ contactId: "c1", taskId: "t1" }, { noteId: "n1" })).toEqual({
      contactId: "c1",
      taskId: "t1",
      noteId: "n1",
    });
  });
});
