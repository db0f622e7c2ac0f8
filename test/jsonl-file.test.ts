import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { JsonlFile } from "../tools/embedded/jsonl-file.ts";

describe("JsonlFile group commit", () => {
  it("writes every concurrent append as one whole line, each on disk when its promise resolves", async () => {
    const dir = mkdtempSync(join(tmpdir(), "jsonl-"));
    const file = new JsonlFile<{ n: number; pad: string }>(dir, "log.jsonl", "test");
    await file.prepare();
    const seen: number[] = [];
    await Promise.all(
      Array.from({ length: 200 }, (_, n) =>
        file.append({ n, pad: "x".repeat(n) }).then(() => {
          // Resolved means stored: the line is in the file now, whatever batch it went out in.
          const lines = readFileSync(file.path, "utf8").trim().split("\n");
          if (lines.some((l) => (JSON.parse(l) as { n: number }).n === n)) seen.push(n);
        }),
      ),
    );
    expect(seen).toHaveLength(200);
    const records = await file.readAll();
    expect(records.map((r) => r.n).sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, n) => n));
    for (const r of records) expect(r.pad).toBe("x".repeat(r.n));
    rmSync(dir, { recursive: true, force: true });
  });

  it("rejects every append of a batch that could not be written, and recovers afterwards", async () => {
    const dir = mkdtempSync(join(tmpdir(), "jsonl-"));
    const file = new JsonlFile<{ n: number }>(join(dir, "gone"), "log.jsonl", "test");
    const results = await Promise.allSettled([file.append({ n: 1 }), file.append({ n: 2 })]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    await file.prepare();
    await file.append({ n: 3 });
    expect((await file.readAll()).map((r) => r.n)).toEqual([3]);
    rmSync(dir, { recursive: true, force: true });
  });
});
