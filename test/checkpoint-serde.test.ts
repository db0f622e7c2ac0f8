import { MemorySaver } from "@langchain/langgraph";
import { DeltaSnapshot } from "@langchain/langgraph-checkpoint";
import { describe, expect, it } from "vitest";
import { buildLeadGraph } from "../graph/build.ts";
import { FastJsonSerializer } from "../graph/checkpoint/serde.ts";
import type { LeadState } from "../graph/state.ts";
import { sampleCases, testDeps } from "./helpers/deps.ts";

/** LangGraph's own serializer, as every saver starts with it. */
const reference = new MemorySaver().serde;
const fast = new FastJsonSerializer();

async function sameBothWays(value: unknown): Promise<void> {
  const [type, bytes] = await fast.dumpsTyped(value);
  const [refType, refBytes] = await reference.dumpsTyped(value);
  expect(type).toBe(refType);
  expect(Buffer.from(bytes).equals(Buffer.from(refBytes))).toBe(true);
  expect(await fast.loadsTyped(type, bytes)).toStrictEqual(await reference.loadsTyped(type, bytes));
}

describe("FastJsonSerializer", () => {
  it("writes and reads every value of the fixture leads' final states exactly as LangGraph's serializer", async () => {
    const { deps } = await testDeps();
    const graph = buildLeadGraph(deps);
    let values = 0;
    for (const [i, c] of sampleCases().entries()) {
      const leadId = `serde-${i}`;
      const state = (await graph.invoke(
        { leadId, receivedAt: "2026-11-21T10:00:00.000Z", raw: c.payload },
        { configurable: { thread_id: leadId } },
      )) as LeadState;
      await sameBothWays(state);
      for (const value of Object.values(state)) {
        await sameBothWays(value);
        values++;
      }
    }
    expect(values).toBeGreaterThan(1000);
  });

  it("leaves what plain JSON cannot say to LangGraph's serializer, with the same bytes", async () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    let deep: unknown = "bottom";
    for (let i = 0; i < 100; i++) deep = { deep };
    const tricky: unknown[] = [
      { a: undefined, b: 1 },
      [1, undefined, 3],
      // A hole reads as undefined.
      new Array<number>(3).fill(1, 0, 1),
      new Set(["x", "y"]),
      new Map([["k", { v: 1 }]]),
      new Date("2026-11-21T10:00:00.000Z"),
      { when: new Date("2026-11-21T10:00:00.000Z") },
      /lead/gi,
      new Error("boom"),
      new Uint8Array([1, 2, 3]),
      { bytes: new Uint8Array([4, 5]) },
      { lg_name: "Send", node: "n", args: { x: 1 }, extra: true },
      { lc: 2, type: "undefined" },
      { lc: 1, type: "not_implemented", id: ["x"] },
      new DeltaSnapshot([1, 2]),
      cyclic,
      deep,
      JSON.parse('{"__proto__": {"polluted": true}}'),
      Object.create(null),
      Number.NaN,
      -0,
      Number.POSITIVE_INFINITY,
      "ünïcode ✓ \u2028 \ud800",
      { nested: [{ list: [null, true, 0, "", { e: [] }] }] },
      null,
    ];
    for (const value of tricky) {
      const [refType, refBytes] = await reference.dumpsTyped(value);
      const [type, bytes] = await fast.dumpsTyped(value);
      expect(type).toBe(refType);
      expect(Buffer.from(bytes).equals(Buffer.from(refBytes))).toBe(true);
      const loaded = await fast.loadsTyped(type, bytes);
      expect(loaded).toStrictEqual(await reference.loadsTyped(type, bytes));
    }
  });

  it("reads values LangGraph's serializer stored, including its undefined and Set records", async () => {
    const stored = await reference.dumpsTyped({ set: new Set([1]), gone: undefined, plain: [1, "a"] });
    const loaded = (await fast.loadsTyped(...stored)) as Record<string, unknown>;
    expect(loaded.set).toEqual(new Set([1]));
    expect(Object.hasOwn(loaded, "gone")).toBe(true);
    expect(loaded.plain).toEqual([1, "a"]);
    // A string payload, as some savers hand it back.
    expect(await fast.loadsTyped("json", JSON.stringify({ a: [1] }))).toEqual({ a: [1] });
  });
});
