/**
 * Safe routing changes on a stored week of leads (embedded profile): what-if replays the leads received in
 * the window against a candidate routing.json or scoring.json and lists exactly the leads whose owner, queue
 * or tier would change, through the admin API and the CLI; and every loaded routing.json version is kept
 * with its hash, recorded on the decisions it made, and diffed against the one in force.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { DATABASE_FILE } from "../app/runtime.ts";
import { whatIfCommand } from "../cli/routing.ts";
import { DELIVERED, startService, type TestService, waitForStatus } from "./helpers/app.ts";

const TOKEN = "admin-token-0123456789abcdef";
const auth = { authorization: `Bearer ${TOKEN}` };
const DAY_MS = 86_400_000;

type Routing = { rules: Array<{ name: string; assign: unknown }> };
type Scoring = { tiers: { hot: number; warm: number } };

const CASES = JSON.parse(readFileSync("fixtures/leads_sample.json", "utf8")) as Array<{
  id: string;
  payload: Record<string, unknown>;
}>;

interface StoredLead {
  leadId: string;
  receivedAt: string;
  rule: string;
  tier: string;
  score: number;
}

describe("what-if and config versions", () => {
  let service: TestService;
  let configDir: string;
  let routingFile: string;
  const stored: StoredLead[] = [];
  const now = Date.now();
  /** The 40 leads, spread over the last 10 days: 28 inside a 7-day window, 12 before it. */
  const ageDays = (i: number) => i % 10;

  beforeAll(async () => {
    configDir = mkdtempSync(join(tmpdir(), "leadgraph-whatif-"));
    routingFile = join(configDir, "routing.json");
    copyFileSync("config/routing.json", routingFile);
    service = await startService({ ADMIN_TOKENS: TOKEN, ROUTING_FILE: routingFile });
    const ids: string[] = [];
    for (const c of CASES.slice(0, 40)) {
      const accepted = await service.runtime.service.accept({ body: c.payload, idempotencyKey: c.id });
      if (!accepted.ok) throw new Error(accepted.message);
      ids.push(accepted.leadId);
    }
    // Back-date them: a stored week (and a few days more) of real leads.
    const db = new DatabaseSync(join(service.dataDir, DATABASE_FILE));
    const update = db.prepare("UPDATE leads SET received_at = ?, received_at_ms = ? WHERE lead_id = ?");
    for (const [i, leadId] of ids.entries()) {
      const lead = await waitForStatus(service.runtime.store, leadId, DELIVERED);
      const at = now - ageDays(i) * DAY_MS - 60_000;
      update.run(new Date(at).toISOString(), at, leadId);
      const result = lead.result as { rule: string; tier: string; score: number };
      stored.push({ leadId, receivedAt: new Date(at).toISOString(), ...result });
    }
    db.close();
  });
  afterAll(async () => {
    await service.close();
    rmSync(configDir, { recursive: true, force: true });
  });

  const inWindow = () => stored.filter((l) => Date.parse(l.receivedAt) >= now - 7 * DAY_MS);

  async function whatIf(body: Record<string, unknown>) {
    return service.app.inject({
      method: "POST",
      url: "/admin/routing/what-if",
      headers: auth,
      payload: body,
    });
  }

  function candidateRouting(edit: (routing: Routing) => void): Routing {
    const routing = JSON.parse(readFileSync("config/routing.json", "utf8")) as Routing;
    edit(routing);
    return routing;
  }

  const partnerToZoe = candidateRouting((routing) => {
    const partner = routing.rules.find((r) => r.name === "partner-referrals");
    if (!partner) throw new Error("no partner rule");
    partner.assign = { type: "owner", owner: "zoe.adams" };
  });

  it("lists exactly the leads of the window whose owner would change, with both explanations", async () => {
    const res = await whatIf({ routing: partnerToZoe, since: "7d" });
    expect(res.statusCode).toBe(200);
    const body = res.json<{
      compared: number;
      skipped: number;
      changes: Array<{
        leadId: string;
        changed: string[];
        before: { owner: string; rule: string; explanation: string[] };
        after: { owner: string; rule: string; explanation: string[] };
      }>;
    }>();
    const expected = inWindow().filter((l) => l.rule === "partner-referrals");
    expect(expected.length).toBeGreaterThan(0);
    expect(body.compared).toBe(inWindow().length);
    expect(body.skipped).toBe(0);
    expect(body.changes.map((c) => c.leadId).sort()).toEqual(expected.map((l) => l.leadId).sort());
    for (const change of body.changes) {
      expect(change.changed).toEqual(["owner"]);
      expect(change.before).toMatchObject({ owner: "daniel.cohen", rule: "partner-referrals" });
      expect(change.after).toMatchObject({ owner: "zoe.adams", rule: "partner-referrals" });
      expect(change.before.explanation.join("\n")).toContain('rule 5 "partner-referrals": yes');
      expect(change.after.explanation.at(-1)).toBe("assigned to owner zoe.adams");
    }
  });

  it("lists the leads whose tier a candidate scoring.json would change", async () => {
    const scoring = JSON.parse(readFileSync("config/scoring.json", "utf8")) as Scoring;
    scoring.tiers.hot = 95;
    const res = await whatIf({ scoring, since: "7d" });
    expect(res.statusCode).toBe(200);
    const { changes } = res.json<{
      changes: Array<{ leadId: string; changed: string[]; after: { tier: string } }>;
    }>();
    const expected = inWindow().filter((l) => l.tier === "hot" && l.score < 95);
    expect(expected.length).toBeGreaterThan(0);
    expect(
      changes
        .filter((c) => c.changed.includes("tier"))
        .map((c) => c.leadId)
        .sort(),
    ).toEqual(expected.map((l) => l.leadId).sort());
    expect(changes.every((c) => c.after.tier === "warm")).toBe(true);
  });

  it("replays nothing changed when the candidate is the file in force", async () => {
    const res = await whatIf({ routing: JSON.parse(readFileSync(routingFile, "utf8")), since: "30d" });
    expect(res.json()).toMatchObject({ compared: stored.length, changes: [] });
  });

  it("refuses an invalid candidate with its JSON paths", async () => {
    const broken = candidateRouting((routing) => {
      routing.rules[0]!.assign = { type: "pool", pool: "nobody" };
    });
    const res = await whatIf({ routing: broken });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({
      error: "invalid_candidate",
      field: "routing",
      problems: [{ path: "$.rules[0].assign.pool", message: 'unknown pool "nobody"' }],
    });
    expect((await whatIf({ routing: partnerToZoe, since: "last tuesday" })).statusCode).toBe(400);
  });

  it("answers the same from the CLI, reading the deployment's store", async () => {
    const candidate = join(configDir, "candidate.json");
    writeFileSync(candidate, JSON.stringify(partnerToZoe));
    const printed: string[] = [];
    const log = vi
      .spyOn(console, "log")
      .mockImplementation((...args: unknown[]) => void printed.push(args.join(" ")));
    try {
      const code = await whatIfCommand(service.env, { routing: candidate }, "7d", true);
      expect(code).toBe(0);
    } finally {
      log.mockRestore();
    }
    const result = JSON.parse(printed.join("\n")) as { compared: number; changes: Array<{ leadId: string }> };
    const expected = inWindow().filter((l) => l.rule === "partner-referrals");
    expect(result.compared).toBe(inWindow().length);
    expect(result.changes.map((c) => c.leadId).sort()).toEqual(expected.map((l) => l.leadId).sort());
  });

  it("keeps every routing.json version loaded, records it on decisions, and diffs old against current", async () => {
    const first = await service.app.inject({ method: "GET", url: "/admin/routing", headers: auth });
    expect(first.statusCode).toBe(200);
    const before = first.json<{
      routing: { hash: string; loadedAt: string; file: string };
      scoring: { file: string };
      warnings: unknown[];
    }>();
    expect(before.routing.hash).toMatch(/^[0-9a-f]{12}$/);
    // Shown relative to the working directory when below it, else as configured.
    expect(before.scoring.file).toBe(join("config", "scoring.json"));
    expect(before.routing.file).toBe(routingFile);
    expect(before.warnings).toEqual([]);
    const lead = await service.runtime.store.getLead(stored[0]!.leadId);
    expect(lead?.result?.configVersion).toBe(before.routing.hash);

    writeFileSync(routingFile, `${JSON.stringify(partnerToZoe, null, 2)}\n`);
    let after = before;
    for (let i = 0; i < 100 && after.routing.hash === before.routing.hash; i++) {
      await sleep(50);
      after = (await service.app.inject({ method: "GET", url: "/admin/routing", headers: auth })).json();
    }
    expect(after.routing.hash).not.toBe(before.routing.hash);

    const list = (
      await service.app.inject({ method: "GET", url: "/admin/routing/versions", headers: auth })
    ).json<{ versions: Array<{ hash: string; current: boolean }> }>().versions;
    expect(list.map((v) => [v.hash, v.current])).toEqual([
      [after.routing.hash, true],
      [before.routing.hash, false],
    ]);
    const old = await service.app.inject({
      method: "GET",
      url: `/admin/routing/versions/routing/${before.routing.hash}`,
      headers: auth,
    });
    const diff = old.json<{ diffToCurrent: string; current: boolean }>();
    expect(diff.current).toBe(false);
    expect(diff.diffToCurrent).toMatch(/^\+.*zoe\.adams/m);

    // A lead routed now records the new version.
    const accepted = await service.runtime.service.accept({
      body: CASES[45]!.payload,
      idempotencyKey: "after-edit",
    });
    if (!accepted.ok) throw new Error(accepted.message);
    const routed = await waitForStatus(service.runtime.store, accepted.leadId, DELIVERED);
    expect(routed.result?.configVersion).toBe(after.routing.hash);
  });
});
