import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createEmbeddedDeps } from "../app/embedded-deps.ts";
import { buildLeadGraph, leadGraphNodes, NODE_IDS } from "../graph/build.ts";
import { recordingCrm } from "./helpers/fakes.ts";

const LEAD = {
  email: "ben.ostrowski@quillfeather.io",
  first_name: "Ben",
  last_name: "Ostrowski",
  title: "VP Engineering",
  country: "US",
  state: "CA",
  website: "quillfeather.io",
  source: "web",
};

const dirs: string[] = [];
const cwd = process.cwd();
afterEach(() => {
  process.chdir(cwd);
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("createEmbeddedDeps", () => {
  it("builds every port on the stand-ins, with the caller's own CRM in place of the local one", async () => {
    // The CRM knows the company and its owner (70009 is jonas.weber in the shipped routing.json).
    const crm = recordingCrm([
      { id: "c-1", name: "Quillfeather", domain: "quillfeather.io", ownerId: "70009" },
    ]);
    const { deps, adapters, close } = await createEmbeddedDeps({ overrides: { crm } });
    try {
      expect(deps.crm).toBe(crm);
      expect(Object.fromEntries(adapters.map((a) => [a.port, a.adapter]))).toMatchObject({
        llm: "none",
        crm: "recording",
        notifier: "outbox",
        vectorIndex: "memory",
      });
      const state = await buildLeadGraph(deps).invoke(
        { leadId: "lib-1", receivedAt: "2026-01-05T10:00:00.000Z", raw: LEAD },
        { configurable: { thread_id: "lib-1" } },
      );
      expect(state.route).toMatchObject({ ownerId: "jonas.weber", ruleName: "existing-account" });
      expect(crm.calls.map((c) => c.op)).toEqual(
        expect.arrayContaining(["findCompanyByDomain", "upsertContact", "setOwner", "addNote", "createTask"]),
      );
      expect(state.similarAccounts).toHaveLength(3);
    } finally {
      await close();
    }
  });

  it("takes similar accounts from the fixtures, not from a .data directory in the working directory", async () => {
    const dir = mkdtempSync(join(tmpdir(), "leadgraph-embedded-"));
    dirs.push(dir);
    mkdirSync(join(dir, ".data"));
    writeFileSync(join(dir, ".data", "accounts.json"), "not json");
    process.chdir(dir);
    const { deps, close } = await createEmbeddedDeps();
    try {
      const state = await buildLeadGraph(deps).invoke(
        { leadId: "lib-2", receivedAt: "2026-01-05T10:00:00.000Z", raw: LEAD },
        { configurable: { thread_id: "lib-2" } },
      );
      expect(state.similarAccounts).toHaveLength(3);
    } finally {
      await close();
    }
  });

  it("hands out one node per node id, for projects that wire their own graph", async () => {
    const { deps, close } = await createEmbeddedDeps();
    try {
      expect(Object.keys(leadGraphNodes(deps)).sort()).toEqual([...NODE_IDS].sort());
    } finally {
      await close();
    }
  });
});
