/**
 * List imports, in both profiles: POST /admin/imports with recorded CSV files (an Excel-style export with a
 * BOM, `;` separators, quoted separators and a row missing columns; a comma file with quoted commas and
 * CRLF), the dry run, idempotency, live leads keeping priority over a running import, and `leadgraph
 * import` from the terminal.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCsv } from "../app/sources/csv-import.ts";
import { SqliteLeadStore } from "../store/sqlite-lead-store.ts";
import {
  DELIVERED,
  QUALIFIED_LEAD,
  sampleLead,
  startService,
  type TestService,
  waitForStatus,
} from "./helpers/app.ts";
import { PROFILES, postJson, profileEnv } from "./helpers/profiles.ts";
import { startRedis, type TestRedis } from "./helpers/redis-server.ts";

const ADMIN = "admin-token-imports-0123456789";
const BADGES = readFileSync("fixtures/imports/event-badges.csv", "utf8");
const PURCHASED = readFileSync("fixtures/imports/purchased-list.csv", "utf8");

type Report = {
  dryRun: boolean;
  delimiter: string;
  rows: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  columns: Array<{ name: string; field?: string }>;
  problems: Array<{ row: number; line: number; field: string; message: string }>;
  results: Array<{ row: number; leadId?: string; status?: string; duplicate?: boolean; field?: string }>;
};

describe("CSV parsing", () => {
  it("drops the BOM, detects `;`, keeps quoted separators, and leaves a short row's columns empty", () => {
    const parsed = parseCsv(BADGES);
    expect(parsed.delimiter).toBe(";");
    expect(parsed.header[0]).toBe("First Name");
    expect(parsed.rows).toHaveLength(5);
    expect(parsed.rows[0]?.fields.Company).toBe("Nordlicht Energie; Services GmbH");
    expect(parsed.rows[1]?.fields.Company).toBe("Vitrail, Verre & Co");
    expect(parsed.rows[3]?.fields).not.toHaveProperty("Country");
    expect(parsed.rows[3]?.line).toBe(5);
    const commas = parseCsv(PURCHASED);
    expect(commas.delimiter).toBe(",");
    expect(commas.rows[0]?.fields.company).toBe("Bramblewick Logistics, Inc.");
    expect(commas.rows[1]?.fields.utm_campaign).toBe("spring, 2026");
  });

  it("reports a row it cannot read and goes on", () => {
    const parsed = parseCsv('email,company\na@acme.io,"Acme\nb@beta.io,"Beta" Corp"\nc@gamma.io,Gamma\n');
    expect(parsed.problems.length).toBeGreaterThan(0);
    expect(parsed.problems[0]).toMatchObject({ field: "row" });
  });
});

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

describe.each(PROFILES)("list imports, %s profile", (profile) => {
  let service: TestService;
  beforeAll(async () => {
    service = await startService({ ...profileEnv(profile, redis, 4), ADMIN_TOKENS: ADMIN });
  });
  afterAll(async () => {
    await service?.close();
  });

  const upload = (csv: string, query = "") =>
    service.app.inject({
      method: "POST",
      url: `/admin/imports${query}`,
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "text/csv; charset=utf-8" },
      payload: csv,
    });
  const count = async () => (await service.runtime.store.listLeads({ limit: 500 })).leads.length;

  it("a dry run reports the mapping and each row's problem, and stores nothing", async () => {
    const before = await count();
    const res = await upload(BADGES, "?dry_run=true");
    expect(res.statusCode).toBe(200);
    const report = res.json<Report>();
    expect(report).toMatchObject({
      dryRun: true,
      delimiter: ";",
      rows: 5,
      accepted: 3,
      duplicates: 1,
      rejected: 1,
    });
    expect(report.columns).toContainEqual({ name: "Email", field: "email" });
    expect(report.columns).toContainEqual({ name: "Job Title", field: "title" });
    expect(report.problems).toEqual([
      {
        row: 3,
        line: 4,
        field: "email",
        message: "email is not a valid address (expected name@company.tld)",
      },
    ]);
    expect(await count()).toBe(before);
  });

  it("imports each row as a lead on the import lane; a second import is all duplicates", async () => {
    const res = await upload(PURCHASED, "?source=tradeshow");
    expect(res.statusCode).toBe(200);
    const report = res.json<Report>();
    expect(report).toMatchObject({ dryRun: false, rows: 2, accepted: 2, duplicates: 0, rejected: 0 });
    expect(report.results.map((r) => [r.row, r.status])).toEqual([
      [1, "queued"],
      [2, "queued"],
    ]);
    const lead = await waitForStatus(service.runtime.store, report.results[0]!.leadId!, [
      ...DELIVERED,
      "failed",
    ]);
    expect(lead.status).toBeOneOf(DELIVERED);
    expect(lead.source).toBe("import");
    expect(lead.payload).toMatchObject({ company: "Bramblewick Logistics, Inc.", lead_source: "tradeshow" });

    const again = (await upload(PURCHASED)).json<Report>();
    expect(again).toMatchObject({ accepted: 0, duplicates: 2 });
    expect(again.results.map((r) => r.leadId)).toEqual(report.results.map((r) => r.leadId));
  });

  it("imports the BOM/semicolon file: the bad row is rejected naming email, the short row is a lead", async () => {
    const report = (await upload(BADGES)).json<Report>();
    expect(report).toMatchObject({ rows: 5, accepted: 3, duplicates: 1, rejected: 1 });
    expect(report.results[2]).toMatchObject({ row: 3, error: "invalid_lead", field: "email" });
    expect(report.results[4]).toMatchObject({ leadId: report.results[0]!.leadId, duplicate: true });
    const short = await waitForStatus(service.runtime.store, report.results[3]!.leadId!, [
      ...DELIVERED,
      "failed",
    ]);
    expect(short.status).toBeOneOf(DELIVERED);
  });

  it("live webhook leads run before a waiting import", async () => {
    const rows = Array.from({ length: 40 }, (_, i) => `bulk${i}.${profile}@bramblewick.com,Bulk ${i},Acme`);
    const report = (await upload(`email,name,company\n${rows.join("\n")}\n`)).json<Report>();
    expect(report.accepted).toBe(40);
    const live = await postJson(service, {
      ...sampleLead(QUALIFIED_LEAD),
      email: `live.${profile}@bramblewick.com`,
    });
    expect(live.statusCode).toBe(202);
    await waitForStatus(service.runtime.store, live.json().leadId, DELIVERED);
    // The import lane runs one lead at a time: part of the list is still waiting when the live lead is done
    // (how much depends on the machine: with the stand-ins in SQLite an import lead takes tens of ms).
    const statuses = await Promise.all(report.results.map((r) => service.runtime.store.getLead(r.leadId!)));
    expect(statuses.filter((l) => l?.status === "queued").length).toBeGreaterThan(0);
  });

  it("is admin only, and refuses other content types", async () => {
    const anonymous = await service.app.inject({
      method: "POST",
      url: "/admin/imports",
      headers: { "content-type": "text/csv" },
      payload: PURCHASED,
    });
    expect(anonymous.statusCode).toBe(401);
    const json = await service.app.inject({
      method: "POST",
      url: "/admin/imports",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      payload: "{}",
    });
    expect(json.statusCode).toBe(400);
  });
});

describe("leadgraph import (CLI, embedded profile)", () => {
  it("dry run reports and exits 1 for a bad row; the import stores the leads queued for the service", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "leadgraph-import-cli-"));
    try {
      const env = { ...process.env, DATA_DIR: dataDir, REDIS_URL: "", LOG_LEVEL: "silent" };
      const run = (...args: string[]) =>
        spawnSync("sh", ["bin/with-node.sh", "node", "cli.ts", "import", ...args], {
          env,
          encoding: "utf8",
        });
      const dry = run("fixtures/imports/event-badges.csv", "--dry-run");
      expect(dry.status, dry.stderr).toBe(1);
      expect(dry.stdout).toContain("row 3 (line 4): email: email is not a valid address");
      expect(dry.stdout).toContain("would import 3 new leads, 1 duplicates, 1 rows rejected");

      const real = run("fixtures/imports/purchased-list.csv", "--source", "tradeshow");
      expect(real.status, real.stderr).toBe(0);
      expect(real.stdout).toContain("imported 2 new leads, 0 duplicates, 0 rows rejected");
      const store = new SqliteLeadStore({ path: join(dataDir, "leadgraph.db") });
      try {
        const page = await store.listLeads({ status: "queued" });
        expect(page.leads).toHaveLength(2);
        expect(page.leads.every((l) => l.source === "import")).toBe(true);
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
