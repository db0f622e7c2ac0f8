/**
 * The contract as published: /openapi.json lists every source's shape and every field of the generic
 * payload with its type and limit, and /docs serves Swagger UI from the package's own assets (no network).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LEAD_STATUSES } from "../store/lead-store.ts";
import { startService, type TestService } from "./helpers/app.ts";

describe("OpenAPI document and /docs", () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startService();
  });
  afterAll(async () => {
    await service.close();
  });

  it("lists every lead status as the choices of /admin/leads?status= (the console's status filter reads them)", async () => {
    const doc = (await service.app.inject("/openapi.json")).json();
    const status = doc.paths["/admin/leads"].get.parameters.find(
      (p: { in: string; name: string }) => p.in === "query" && p.name === "status",
    );
    expect(status.schema.enum).toEqual([...LEAD_STATUSES]);
  });

  it("documents each content type of the webhook, the generic fields with their limits, and every answer", async () => {
    const doc = (await service.app.inject("/openapi.json")).json();
    const post = doc.paths["/webhooks/lead"].post;
    const content = post.requestBody.content;
    expect(Object.keys(content).sort()).toEqual([
      "application/json",
      "application/x-www-form-urlencoded",
      "multipart/form-data",
    ]);
    const shapes = content["application/json"].schema.oneOf;
    expect(shapes).toHaveLength(4);
    const generic = shapes[0];
    expect(generic.required).toEqual(["email"]);
    expect(generic.properties.email).toMatchObject({ type: "string", maxLength: 254 });
    expect(generic.properties.message).toMatchObject({ type: "string", maxLength: 2000 });
    for (const field of ["first_name", "company", "title", "country", "phone", "website", "utm_source"])
      expect(generic.properties[field], field).toMatchObject({ type: "string", maxLength: 300 });
    expect(shapes[2]).toMatchObject({ type: "array", maxItems: 100 });
    expect(shapes[3].items.required).toEqual(["eventId", "objectId", "subscriptionType"]);
    expect(content["application/x-www-form-urlencoded"].schema.properties).toHaveProperty("_redirect");
    expect(content["application/x-www-form-urlencoded"].schema.properties).toHaveProperty("_gotcha");
    expect(Object.keys(post.responses)).toEqual(
      expect.arrayContaining(["200", "202", "207", "303", "400", "401", "413", "415", "422", "429", "503"]),
    );
    for (const code of [
      "invalid_signature",
      "batch_too_large",
      "payload_limit",
      "invalid_redirect",
      "unavailable",
    ])
      expect(post.description).toContain(code);
    expect(doc.paths["/admin/imports"].post.requestBody.content).toHaveProperty("text/csv");
  });

  it("documents the 429 of the rate limit on every admin operation", async () => {
    const doc = (await service.app.inject("/openapi.json")).json();
    const missing: string[] = [];
    for (const [path, operations] of Object.entries<Record<string, { responses?: object }>>(doc.paths)) {
      if (!path.startsWith("/admin")) continue;
      for (const [method, operation] of Object.entries(operations))
        if (!Object.keys(operation.responses ?? {}).includes("429")) missing.push(`${method} ${path}`);
    }
    expect(missing).toEqual([]);
  });

  it("serves Swagger UI and its assets from the package", async () => {
    const page = await service.app.inject("/docs");
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toContain("text/html");
    expect(page.body).toContain("swagger-ui-bundle.js");
    const bundle = await service.app.inject("/docs/static/swagger-ui-bundle.js");
    expect(bundle.statusCode).toBe(200);
    expect(bundle.body.length).toBeGreaterThan(100_000);
    const spec = await service.app.inject("/docs/json");
    expect(spec.json().paths).toHaveProperty("/webhooks/lead");
  });
});
