import { setTimeout as sleep } from "node:timers/promises";
import { getHeapSpaceStatistics } from "node:v8";
import { describe, expect, it } from "vitest";
import { silentLogger } from "../app/logger.ts";
import { collectAllGarbage, startMemoryRelease } from "../app/memory-release.ts";

/** Keeps the event loop busy for `ms` (a busy spell, as a burst of leads would be). */
function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {}
}

async function until(condition: () => boolean): Promise<void> {
  // A hang guard, not a timing assertion.
  for (let i = 0; i < 500 && !condition(); i++) await sleep(10);
}

describe("startMemoryRelease", () => {
  it("releases once the loop is quiet after start-up, and again only after another busy spell", async () => {
    let releases = 0;
    const memory = startMemoryRelease({
      logger: silentLogger,
      checkMs: 50,
      quietMs: 100,
      // The test runner's own work on this loop must not count as a busy spell; the spin below does.
      maxUtilization: 0.5,
      release: async () => {
        releases++;
      },
    });
    try {
      await until(() => releases === 1);
      expect(releases).toBe(1);
      // Quiet for many more checks: nothing was busy, so nothing to hand back.
      await sleep(500);
      expect(releases).toBe(1);
      // A busy spell (three checks' worth of work), then quiet again: one more release.
      spin(150);
      await until(() => releases === 2);
      expect(releases).toBe(2);
      expect(memory.count).toBe(2);
    } finally {
      memory.stop();
    }
  });
});

describe("collectAllGarbage", () => {
  it("runs a full, memory-reducing GC: an object only a WeakRef holds is gone, the young generation shrunk", async () => {
    const grow = (): number => {
      // Young garbage that survives a scavenge or two grows the young generation.
      let keep: unknown[] = [];
      for (let i = 0; i < 200_000; i++) {
        keep.push({ i, s: `x${i}` });
        if (keep.length > 50_000) keep = [];
      }
      return keep.length;
    };
    grow();
    let target: object | undefined = { big: new Array(1000).fill(1) };
    const ref = new WeakRef(target);
    target = undefined;
    const newSpace = () =>
      getHeapSpaceStatistics().find((s) => s.space_name === "new_space")?.space_size ?? 0;
    const before = newSpace();
    await collectAllGarbage();
    expect(ref.deref()).toBeUndefined();
    expect(newSpace()).toBeLessThan(before);
  });
});
