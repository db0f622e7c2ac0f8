import { describe, expect, it } from "vitest";
import { writeOnce } from "../nodes/effects.ts";
import { MemoryLedger } from "../store/memory.ts";

describe("writeOnce", () => {
  it("writes without a look-up the first time, and returns the stored result after that", async () => {
    const ledger = new MemoryLedger();
    const calls: string[] = [];
    const write = {
      find: async () => {
        calls.push("find");
        return null;
      },
      create: async () => {
        calls.push("create");
        return { id: "n-1" };
      },
    };
    expect(await writeOnce(ledger, "lead-1:crm:note", write)).toEqual({ id: "n-1" });
    expect(await writeOnce(ledger, "lead-1:crm:note", write)).toEqual({ id: "n-1" });
    expect(calls).toEqual(["create"]);
  });

  it("after an attempt that threw (it may have landed), adopts the write it finds instead of writing again", async () => {
    const ledger = new MemoryLedger();
    const created: string[] = [];
    await expect(
      writeOnce(ledger, "lead-2:notify", {
        find: async () => null,
        create: async () => {
          created.push("first");
          throw new Error("slack: timeout");
        },
      }),
    ).rejects.toThrow("timeout");
    const adopted = await writeOnce(ledger, "lead-2:notify", {
      find: async () => ({ messageId: "ts-1" }),
      create: async () => {
        created.push("second");
        return { messageId: "ts-2" };
      },
    });
    expect(adopted).toEqual({ messageId: "ts-1" });
    expect(created).toEqual(["first"]);
  });

  it("writes again when the look-up finds nothing", async () => {
    const ledger = new MemoryLedger();
    await expect(
      writeOnce(ledger, "lead-3:crm:task", {
        find: async () => null,
        create: async () => Promise.reject(new Error("refused")),
      }),
    ).rejects.toThrow("refused");
    expect(
      await writeOnce(ledger, "lead-3:crm:task", { find: async () => null, create: async () => "t-1" }),
    ).toBe("t-1");
  });
});
