import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { timeOrderedId, uuidV7 } from "../tools/ids.ts";

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function unixMsOf(id: string): number {
  return Number.parseInt(id.replaceAll("-", "").slice(0, 12), 16);
}

describe("time-ordered ids", () => {
  it("are version 7 UUIDs carrying the time they were made, distinct, later ones sorting after earlier ones", async () => {
    const before = Date.now();
    const first = Array.from({ length: 1000 }, timeOrderedId);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = Array.from({ length: 1000 }, timeOrderedId);
    const after = Date.now();
    for (const id of [...first, ...second]) {
      expect(id).toMatch(V7);
      expect(unixMsOf(id)).toBeGreaterThanOrEqual(before);
      expect(unixMsOf(id)).toBeLessThanOrEqual(after);
    }
    expect(new Set([...first, ...second]).size).toBe(2000);
    const lastOfFirst = [...first].sort().at(-1) as string;
    for (const id of second) expect(id > lastOfFirst).toBe(true);
  });

  it("builds the same layout from a time and a random UUID where Node has no randomUUIDv7", () => {
    const random = randomUUID();
    const id = uuidV7(0x0189_abcd_ef01, random);
    expect(id).toMatch(V7);
    expect(id.slice(0, 14)).toBe("0189abcd-ef01-");
    expect(id.slice(15)).toBe(random.slice(15));
    expect(uuidV7(1, random) < uuidV7(2, random)).toBe(true);
    expect(uuidV7(0xff, random) < uuidV7(0x100, random)).toBe(true);
    expect(() => uuidV7(-1, random)).toThrow(/unixMs/);
    expect(() => uuidV7(2 ** 48, random)).toThrow(/unixMs/);
  });
});
