/**
 * Web form posts on POST /webhooks/lead, in both profiles: a browser-shaped urlencoded post (the headers a
 * Chromium form submission sends), multipart without files, the Origin allow-list against the signature
 * rules, the thank-you redirect and its allow-list, and the honeypot.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { genericSignature } from "../http/signatures.ts";
import { DELIVERED, startService, type TestService, waitForStatus } from "./helpers/app.ts";
import { PROFILES, profileEnv } from "./helpers/profiles.ts";
import { startRedis, type TestRedis } from "./helpers/redis-server.ts";

const SITE = "https://www.bramblewick.com";
const SECRET = "form-test-webhook-secret";

/** What Chromium sends when a person submits `<form method="post" action=".../webhooks/lead">` on SITE. */
function browserHeaders(origin = SITE): Record<string, string> {
  return {
    "content-type": "application/x-www-form-urlencoded",
    origin,
    referer: `${origin}/demo`,
    accept:
      "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8",
    "accept-language": "en-GB,en;q=0.9",
    "cache-control": "max-age=0",
    "sec-fetch-dest": "document",
    "sec-fetch-mode": "navigate",
    "sec-fetch-site": "same-site",
    "sec-fetch-user": "?1",
    "upgrade-insecure-requests": "1",
    "user-agent":
      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  };
}

function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

describe.each(PROFILES)("web forms, %s profile", (profile) => {
  let service: TestService;
  beforeAll(async () => {
    service = await startService({
      ...profileEnv(profile, redis, 3),
      WEBHOOK_SECRET: SECRET,
      FORM_ORIGINS: SITE,
      FORM_REDIRECT_URL: `${SITE}/thanks`,
    });
  });
  afterAll(async () => {
    await service?.close();
  });

  const post = (payload: string, headers: Record<string, string>) =>
    service.app.inject({ method: "POST", url: "/webhooks/lead", headers, payload });

  it("a browser's post from an allowed origin: stored without a signature, then 303 to the thank-you page", async () => {
    const email = `ada.${profile}@bramblewick.com`;
    // Field names as a HubSpot-style form names them, plus a UTM tag and an empty honeypot.
    const res = await post(
      form({
        email,
        firstname: "Ada",
        lastname: "Lovelace",
        company: "Bramblewick Logistics",
        jobtitle: "VP Operations",
        country: "United States",
        phone: "(312) 555-0142",
        utm_source: "linkedin",
        utm_campaign: "spring",
        _gotcha: "",
      }),
      browserHeaders(),
    );
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe(`${SITE}/thanks`);
    const leads = await service.runtime.store.listLeads({ limit: 500 });
    const stored = leads.leads.find((l) => (l.payload as { email?: string }).email === email);
    expect(stored?.source).toBe("form");
    const done = await waitForStatus(service.runtime.store, stored!.leadId, [...DELIVERED, "failed"]);
    expect(done.status).toBeOneOf(DELIVERED);
    expect(done.result).toMatchObject({ path: expect.any(String) });

    // The same person submitting again is the same lead: still sent to the thank-you page.
    const again = await post(form({ email, firstname: "Ada", utm_campaign: "spring" }), browserHeaders());
    expect(again.statusCode).toBe(303);
  });

  it("follows a _redirect on an allowed origin; refuses one elsewhere with 400 and stores nothing", async () => {
    const ok = await post(
      form({ email: `r.${profile}@bramblewick.com`, _redirect: `${SITE}/merci?x=1` }),
      browserHeaders(),
    );
    expect(ok.statusCode).toBe(303);
    expect(ok.headers.location).toBe(`${SITE}/merci?x=1`);
    const before = (await service.runtime.store.listLeads({ limit: 500 })).leads.length;
    const evil = await post(
      form({ email: `evil.${profile}@bramblewick.com`, _redirect: "https://evil.example/phish" }),
      browserHeaders(),
    );
    expect(evil.statusCode).toBe(400);
    expect(evil.json()).toMatchObject({ error: "invalid_redirect", field: "_redirect" });
    expect((await service.runtime.store.listLeads({ limit: 500 })).leads.length).toBe(before);
  });

  it("a post from another origin needs the signature; signed, it is a JSON 202", async () => {
    const body = form({ email: `signed.${profile}@bramblewick.com`, first_name: "Sig" });
    const unsigned = await post(body, browserHeaders("https://other.example"));
    expect(unsigned.statusCode).toBe(401);
    expect(unsigned.json()).toMatchObject({ error: "invalid_signature", field: "X-Signature" });
    const signed = await post(body, {
      "content-type": "application/x-www-form-urlencoded",
      "x-signature": genericSignature(SECRET, body),
    });
    expect(signed.statusCode).toBe(202);
    expect(signed.json()).toMatchObject({ leadId: expect.any(String), status: "queued" });
  });

  it("multipart without files is a form; a file is refused naming its field", async () => {
    const boundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW";
    const part = (name: string, value: string, filename?: string) =>
      `--${boundary}\r\nContent-Disposition: form-data; name="${name}"${filename ? `; filename="${filename}"` : ""}\r\n` +
      `${filename ? "Content-Type: text/plain\r\n" : ""}\r\n${value}\r\n`;
    const headers = { ...browserHeaders(), "content-type": `multipart/form-data; boundary=${boundary}` };
    const ok = await post(
      `${part("email_address", `multi.${profile}@bramblewick.com`)}${part("first_name", "Mul")}--${boundary}--\r\n`,
      headers,
    );
    expect(ok.statusCode).toBe(303);
    const withFile = await post(
      `${part("email", `file.${profile}@bramblewick.com`)}${part("cv", "hello", "cv.txt")}--${boundary}--\r\n`,
      headers,
    );
    expect(withFile.statusCode).toBe(400);
    expect(withFile.json()).toMatchObject({ error: "file_not_accepted", field: "cv" });
  });

  it("a filled honeypot looks like success to the bot, stores nothing, and is counted", async () => {
    const before = (await service.runtime.store.listLeads({ limit: 500 })).leads.length;
    const res = await post(
      form({ email: `bot.${profile}@bramblewick.com`, _gotcha: "http://spam.example" }),
      browserHeaders(),
    );
    expect(res.statusCode).toBe(303);
    expect((await service.runtime.store.listLeads({ limit: 500 })).leads.length).toBe(before);
    const metrics = (await service.app.inject("/metrics")).body;
    expect(metrics).toMatch(/leadgraph_deliveries_ignored_total\{source="form",reason="honeypot"\} 1/);
  });

  it("a form without a valid email is a 422 naming email", async () => {
    const res = await post(form({ first_name: "No", email: "nope" }), browserHeaders());
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ error: "invalid_lead", field: "email" });
  });
});
