/**
 * Console sign-in and roles on the embedded profile: a token exchanged for an httpOnly, SameSite=Strict
 * session cookie; admins change things, viewers only look (emails masked); state changes made with the
 * cookie need the anti-CSRF token and a same-origin Origin; bearer tokens keep working for scripts. Also
 * the lead search the console's Leads page uses.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DELIVERED,
  QUALIFIED_LEAD,
  sampleLead,
  startService,
  type TestService,
  waitForStatus,
} from "./helpers/app.ts";

const ADMIN = "admin-token-console-0123456789";
const VIEWER = "viewer-token-console-0123456789";

describe("console sessions, roles and CSRF", () => {
  let service: TestService;
  let leadId: string;

  beforeAll(async () => {
    service = await startService({ ADMIN_TOKENS: ADMIN, VIEWER_TOKENS: VIEWER });
    const res = await service.app.inject({
      method: "POST",
      url: "/webhooks/lead",
      payload: {
        ...sampleLead(QUALIFIED_LEAD),
        email: "grace.hopper@bramblewick.com",
        company: "Bramblewick Labs",
      },
    });
    leadId = res.json<{ leadId: string }>().leadId;
    await waitForStatus(service.runtime.store, leadId, DELIVERED);
  });
  afterAll(async () => {
    await service.close();
  });

  async function signIn(token: string) {
    const res = await service.app.inject({ method: "POST", url: "/console/session", payload: { token } });
    const cookie = res.cookies.find((c) => c.name === "lg_session");
    return { res, cookie: cookie ? `lg_session=${cookie.value}` : "", raw: cookie, body: res.json() };
  }

  it("exchanges a token for an httpOnly, SameSite=Strict session cookie and refuses a wrong one", async () => {
    const admin = await signIn(ADMIN);
    expect(admin.res.statusCode).toBe(200);
    expect(admin.body).toMatchObject({ role: "admin", csrfToken: expect.any(String) });
    expect(admin.raw).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/" });
    expect(admin.res.headers["cache-control"]).toBe("no-store");
    // The cookie names no token.
    expect(admin.cookie).not.toContain(ADMIN);

    const session = await service.app.inject({ url: "/console/session", headers: { cookie: admin.cookie } });
    expect(session.json()).toMatchObject({ role: "admin", csrfToken: admin.body.csrfToken });

    const wrong = await signIn("not-a-token-at-all-000000");
    expect(wrong.res.statusCode).toBe(401);
    expect(wrong.body).toMatchObject({ error: "unauthorized", field: "token" });
    expect(wrong.cookie).toBe("");

    const tampered = admin.cookie.replace(/.$/, (c) => (c === "A" ? "B" : "A"));
    expect(
      (await service.app.inject({ url: "/admin/leads", headers: { cookie: tampered } })).statusCode,
    ).toBe(401);
    expect((await service.app.inject({ url: "/admin/leads" })).statusCode).toBe(401);

    const crossSite = await service.app.inject({
      method: "POST",
      url: "/console/session",
      headers: { origin: "https://evil.example" },
      payload: { token: ADMIN },
    });
    expect(crossSite.statusCode).toBe(403);
  });

  it("lets an admin session change state only with the anti-CSRF token from our own origin", async () => {
    const { cookie, body } = await signIn(ADMIN);
    const pause = (headers: Record<string, string>) =>
      service.app.inject({ method: "POST", url: "/admin/processing/pause", headers: { cookie, ...headers } });
    const bare = await pause({});
    expect(bare.statusCode).toBe(403);
    expect(bare.json()).toMatchObject({ error: "csrf_rejected", field: "x-csrf-token" });
    expect((await pause({ "x-csrf-token": "guess" })).statusCode).toBe(403);
    const foreign = await pause({ "x-csrf-token": body.csrfToken, origin: "https://evil.example" });
    expect(foreign.json()).toMatchObject({ error: "csrf_rejected", field: "origin" });
    const ok = await pause({ "x-csrf-token": body.csrfToken, origin: "http://localhost:80" });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ paused: true });
    const resumed = await service.app.inject({
      method: "POST",
      url: "/admin/processing/resume",
      headers: { cookie, "x-csrf-token": body.csrfToken },
    });
    expect(resumed.json()).toMatchObject({ paused: false });
    // Bearer requests carry no ambient credential: no CSRF token needed.
    const bearer = await service.app.inject({
      method: "POST",
      url: `/admin/leads/${leadId}/retry`,
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect(bearer.statusCode).toBe(409);
  });

  it("gives viewers read-only access with masked emails, by cookie or bearer", async () => {
    const { cookie, body } = await signIn(VIEWER);
    expect(body.role).toBe("viewer");
    const list = await service.app.inject({ url: "/admin/leads?q=bramblewick", headers: { cookie } });
    expect(list.statusCode).toBe(200);
    const lead = list.json().leads.find((l: { leadId: string }) => l.leadId === leadId);
    expect(lead).toMatchObject({ email: "g***@bramblewick.com", company: "Bramblewick Labs" });

    const retry = await service.app.inject({
      method: "POST",
      url: `/admin/leads/${leadId}/retry`,
      headers: { cookie, "x-csrf-token": body.csrfToken },
    });
    expect(retry.statusCode).toBe(403);
    expect(retry.json()).toMatchObject({ error: "forbidden" });
    const bearerPause = await service.app.inject({
      method: "POST",
      url: "/admin/processing/pause",
      headers: { authorization: `Bearer ${VIEWER}` },
    });
    expect(bearerPause.statusCode).toBe(403);
    // A dry run changes nothing: viewers may use the simulator.
    const preview = await service.app.inject({
      method: "POST",
      url: "/admin/routing/preview",
      headers: { cookie, "x-csrf-token": body.csrfToken },
      payload: sampleLead(QUALIFIED_LEAD),
    });
    expect(preview.statusCode).toBe(200);
    expect(preview.json().explanation.length).toBeGreaterThan(0);

    const signOut = await service.app.inject({
      method: "DELETE",
      url: "/console/session",
      headers: { cookie, "x-csrf-token": body.csrfToken },
    });
    expect(signOut.statusCode).toBe(204);
    expect(signOut.cookies.find((c) => c.name === "lg_session")?.value).toBe("");
  });

  it("searches by company, email and owner; admins see the email, the lead its explanation and message", async () => {
    const auth = { authorization: `Bearer ${ADMIN}` };
    const byCompany = await service.app.inject({ url: "/admin/leads?q=Bramblewick%20labs", headers: auth });
    const found = byCompany.json().leads;
    expect(found.map((l: { leadId: string }) => l.leadId)).toEqual([leadId]);
    expect(found[0]).toMatchObject({
      email: "grace.hopper@bramblewick.com",
      domain: "bramblewick.com",
      ownerId: "noah.williams",
      path: "qualified",
      tier: "hot",
    });
    const byEmail = await service.app.inject({
      url: "/admin/leads?q=GRACE.HOPPER@bramblewick.com",
      headers: auth,
    });
    expect(byEmail.json().leads).toHaveLength(1);
    const byOwner = await service.app.inject({
      url: "/admin/leads?owner=noah.williams&path=qualified",
      headers: auth,
    });
    expect(byOwner.json().leads.map((l: { leadId: string }) => l.leadId)).toContain(leadId);
    const none = await service.app.inject({ url: "/admin/leads?q=initech", headers: auth });
    expect(none.json().leads).toEqual([]);
    const badDate = await service.app.inject({ url: "/admin/leads?from=yesterday", headers: auth });
    expect(badDate.statusCode).toBe(400);
    expect(badDate.json().field).toBe("from");

    const detail = (await service.app.inject({ url: `/admin/leads/${leadId}`, headers: auth })).json();
    expect(detail.result.explanation.length).toBeGreaterThan(0);
    expect(detail.message.text).toContain("Bramblewick");
    expect(detail.message.blocks[0]).toMatchObject({ type: "header" });
  });

  it("reports by JSON for bearer scripts, and counts speed to lead and leads per owner in Prometheus", async () => {
    const auth = { authorization: `Bearer ${VIEWER}` };
    const all = (await service.app.inject({ url: "/admin/reports?days=1", headers: auth })).json();
    expect(all.leads).toBeGreaterThanOrEqual(1);
    expect(all.speedToLead.overall.notified).toBeGreaterThanOrEqual(1);
    expect(all.owners.byOwner).toContainEqual(expect.objectContaining({ ownerId: "noah.williams" }));
    const section = await service.app.inject({ url: "/admin/reports/speed-to-lead?days=7", headers: auth });
    expect(section.json()).toMatchObject({ report: { overall: { p50Ms: expect.any(Number) } } });
    expect((await service.app.inject({ url: "/admin/reports/bogus", headers: auth })).statusCode).toBe(400);
    expect((await service.app.inject({ url: "/admin/reports?days=365", headers: auth })).json().field).toBe(
      "days",
    );

    const metrics = (await service.app.inject({ url: "/metrics" })).body;
    expect(metrics).toMatch(/leadgraph_speed_to_lead_seconds_count\{owner="noah.williams"\} [1-9]/);
    expect(metrics).toMatch(/leadgraph_owner_leads_total\{owner="noah.williams",path="qualified"\} [1-9]/);
  });
});
