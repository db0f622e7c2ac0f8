import { describe, expect, it } from "vitest";
import { crmNote } from "../domain/crm-note.ts";
import { createNurtureLeadNode, NURTURE_STATUS } from "../nodes/nurture-lead.ts";
import { createSyncCrmNode } from "../nodes/sync-crm.ts";
import { MemoryLedger } from "../store/memory.ts";
import { recordingCrm } from "./helpers/fakes.ts";
import { aState, shippedRouting, shippedScoring } from "./helpers/state.ts";

const routing = shippedRouting();
const scoring = shippedScoring();
const clock = () => new Date("2026-11-21T10:00:00Z");
const qualified = aState({
  route: {
    ownerId: "ethan.brooks",
    ruleName: "na-west",
    kind: "owner",
    explanation: ['rule 9 "na-west": yes'],
  },
  path: "qualified",
  score: {
    value: 71,
    tier: "hot",
    ruleScore: 71,
    greyZone: false,
    reasons: [
      { field: "enrichment.industry", value: "software", points: 20, text: "industry software (+20)" },
    ],
    evidence: [],
  },
  summary: { bullets: ["Who: Dana Lee"], generatedBy: "template" },
});

describe("syncCrm", () => {
  it("upserts the contact, sets the owner's CRM id, files a note and a task", async () => {
    const crm = recordingCrm();
    const update = await createSyncCrmNode({
      crm,
      ledger: new MemoryLedger(),
      routing: () => routing,
      clock,
    })(qualified);
    expect(crm.calls.map((c) => c.op)).toEqual([
      "upsertContact",
      "findContactByEmail",
      "setOwner",
      "addNote",
      "createTask",
    ]);
    expect(crm.calls[2]?.args).toEqual(["contact-dana.lee@northwind.io", "70004"]);
    expect(crm.calls[4]?.args[1]).toMatchObject({ ownerId: "70004", dueAt: "2026-11-22T10:00:00.000Z" });
    expect(update.crm).toMatchObject({ contactId: "contact-dana.lee@northwind.io", ownerSet: "70004" });
  });

  it("never gives an owned contact another owner; the routed owner still gets the task", async () => {
    const crm = recordingCrm([], { "dana.lee@northwind.io": "70011" });
    const update = await createSyncCrmNode({
      crm,
      ledger: new MemoryLedger(),
      routing: () => routing,
      clock,
    })(qualified);
    expect(crm.calls.map((c) => c.op)).not.toContain("setOwner");
    expect(update.crm).toMatchObject({ ownerKept: "70011" });
    expect(update.crm?.ownerSet).toBeUndefined();
    const note = crm.calls.find((c) => c.op === "addNote")?.args[1];
    expect(note).toContain(
      "CRM owner 70011 kept: the contact already had an owner; this lead's task goes to 70004",
    );
    expect(crm.calls.find((c) => c.op === "createTask")?.args[1]).toMatchObject({ ownerId: "70004" });
  });

  it("writes nothing when the contact already has the routed owner (a returning lead)", async () => {
    const crm = recordingCrm([], { "dana.lee@northwind.io": "70004" });
    const update = await createSyncCrmNode({
      crm,
      ledger: new MemoryLedger(),
      routing: () => routing,
      clock,
    })(qualified);
    expect(crm.calls.map((c) => c.op)).not.toContain("setOwner");
    expect(update.crm).toMatchObject({ ownerKept: "70004" });
    expect(String(crm.calls.find((c) => c.op === "addNote")?.args[1])).not.toContain("kept");
  });

  it("writes nothing twice when the node runs again (resume after a crash)", async () => {
    const crm = recordingCrm();
    const ledger = new MemoryLedger();
    const node = createSyncCrmNode({ crm, ledger, routing: () => routing, clock });
    await node(qualified);
    await node(qualified);
    expect(crm.calls).toHaveLength(5);
  });

  it("the note carries score reasons with their fields and the route explanation", () => {
    const note = crmNote(qualified);
    expect(note).toContain("industry software (+20) [enrichment.industry=software]");
    expect(note).toContain('rule 9 "na-west": yes');
  });
});

describe("nurtureLead", () => {
  it("sets the nurture status and a follow-up task N days out, and never a second contact", async () => {
    const crm = recordingCrm();
    const ledger = new MemoryLedger();
    const state = aState({
      route: { queue: "nurture", ruleName: "cold-to-nurture", kind: "queue", explanation: [] },
      path: "nurture",
    });
    const update = await createNurtureLeadNode({
      crm,
      ledger,
      routing: () => routing,
      scoring: () => scoring,
      clock,
    })(state);
    expect(crm.calls.map((c) => c.op)).toEqual(["upsertContact", "setNurtureStatus", "createTask"]);
    expect(crm.calls[1]?.args[1]).toBe(NURTURE_STATUS);
    expect(crm.calls[2]?.args[1]).toMatchObject({ dueAt: "2026-12-05T10:00:00.000Z" });
    expect(update.crm).toMatchObject({ nurtureStatus: NURTURE_STATUS });
    // syncCrm after nurture reuses the contact and adds no owner task.
    await createSyncCrmNode({ crm, ledger, routing: () => routing, clock })({
      ...state,
      crm: update.crm ?? {},
    });
    expect(crm.calls.map((c) => c.op)).toEqual([
      "upsertContact",
      "setNurtureStatus",
      "createTask",
      "addNote",
    ]);
  });
});
