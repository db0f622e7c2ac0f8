import { describe, expect, it } from "vitest";
import { checkPayloadLimits, PAYLOAD_LIMITS } from "../app/payload-limits.ts";

/** `{a: {a: … "x"}}` with `levels` objects. */
function nested(levels: number): unknown {
  let value: unknown = "x";
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
}

describe("payload limits", () => {
  it("passes an ordinary lead, a HubSpot legacy payload and a batch", () => {
    expect(checkPayloadLimits({ email: "a@b.co", utm: { source: "x" }, tags: ["a", "b"] })).toEqual({
      ok: true,
    });
    expect(
      checkPayloadLimits({
        vid: 1,
        properties: { email: { value: "a@b.co", versions: [{ value: "a@b.co", "source-type": "FORM" }] } },
      }),
    ).toEqual({ ok: true });
    expect(checkPayloadLimits(Array.from({ length: 100 }, (_, i) => ({ email: `l${i}@b.co` })))).toEqual({
      ok: true,
    });
    expect(checkPayloadLimits(undefined)).toEqual({ ok: true });
  });

  it("allows exactly maxDepth levels and names the path of the first one too deep", () => {
    expect(checkPayloadLimits(nested(PAYLOAD_LIMITS.maxDepth))).toEqual({ ok: true });
    const deep = checkPayloadLimits({ email: "a@b.co", extra: nested(PAYLOAD_LIMITS.maxDepth) });
    expect(deep).toMatchObject({ ok: false, limit: "maxDepth" });
    if (deep.ok) return;
    expect(deep.field).toBe(`extra${".a".repeat(PAYLOAD_LIMITS.maxDepth - 1)}`);
    expect(deep.message).toContain(`more than ${PAYLOAD_LIMITS.maxDepth} levels`);
  });

  it("checks 100,000 levels without overflowing its own stack", () => {
    let arrays: unknown = [];
    for (let i = 0; i < 100_000; i++) arrays = [arrays];
    expect(checkPayloadLimits(arrays)).toMatchObject({
      ok: false,
      limit: "maxDepth",
      field: expect.any(String),
    });
    const field = (checkPayloadLimits(arrays) as { field: string }).field;
    expect(field.length).toBeLessThanOrEqual(121);
  });

  it("counts object keys and array items across the whole body", () => {
    const half = Object.fromEntries(
      Array.from({ length: PAYLOAD_LIMITS.maxFields / 2 - 1 }, (_, i) => [`k${i}`, i]),
    );
    expect(checkPayloadLimits({ a: half, b: { ...half } })).toEqual({ ok: true });
    expect(checkPayloadLimits({ a: half, b: { ...half }, c: [1, 2] })).toEqual({
      ok: false,
      limit: "maxFields",
      field: "body",
      message: `body has more than ${PAYLOAD_LIMITS.maxFields} fields (object keys and array items)`,
    });
    expect(checkPayloadLimits([new Array(PAYLOAD_LIMITS.maxFields).fill(0)])).toMatchObject({
      ok: false,
      limit: "maxFields",
    });
  });

  it("names a string value that is too long, and a field name that is", () => {
    const max = PAYLOAD_LIMITS.maxStringChars;
    expect(checkPayloadLimits({ message: "m".repeat(max) })).toEqual({ ok: true });
    expect(checkPayloadLimits([{ email: "a@b.co" }, { notes: ["ok", "m".repeat(max + 1)] }])).toEqual({
      ok: false,
      limit: "maxStringChars",
      field: "1.notes.1",
      message: `1.notes.1 is longer than ${max} characters`,
    });
    expect(checkPayloadLimits({ utm: { ["k".repeat(PAYLOAD_LIMITS.maxKeyChars + 1)]: 1 } })).toEqual({
      ok: false,
      limit: "maxKeyChars",
      field: "utm",
      message: `a field name in utm is longer than ${PAYLOAD_LIMITS.maxKeyChars} characters`,
    });
  });
});
