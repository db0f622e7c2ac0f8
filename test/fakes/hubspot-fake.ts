/**
 * Loopback fake of the HubSpot CRM v3 endpoints LeadGraph uses, so the real @hubspot/api-client
 * runs against it (`basePath: fake.url`). Keeps records in memory, records every request, and
 * plays scripted faults (429 with Retry-After, 5xx storms, hangs).
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** Every value of each query parameter (the SDK repeats `properties=`). */
  queryAll: Record<string, string[]>;
  headers: IncomingHttpHeaders;
  body: unknown;
  /** Set when a scripted fault answered instead of the fake's normal handler. */
  fault?: "status" | "hang";
}

export interface HubSpotRecord {
  id: string;
  properties: Record<string, string>;
  associations?: Array<{
    to: { id: string };
    types: Array<{ associationCategory: string; associationTypeId: number }>;
  }>;
  createdAt: string;
  updatedAt: string;
}

export interface HubSpotFakeOwner {
  id: string;
  email: string;
  firstName?: string;
  lastName?: string;
  userId?: number;
  archived?: boolean;
}

export type HubSpotFault =
  | { kind: "status"; status: number; retryAfter?: string; body?: unknown }
  | { kind: "hang" };

interface ScriptedFault {
  fault: HubSpotFault;
  remaining: number;
  method?: string;
  path?: RegExp;
}

type Handler = (req: RecordedRequest, params: string[]) => { status: number; body: unknown };

export class HubSpotFake {
  readonly requests: RecordedRequest[] = [];
  readonly companies: HubSpotRecord[] = [];
  readonly contacts: HubSpotRecord[] = [];
  readonly notes: HubSpotRecord[] = [];
  readonly tasks: HubSpotRecord[] = [];
  readonly owners: HubSpotFakeOwner[] = [];
  /** When set, requests without `Authorization: Bearer <token>` get a 401. */
  token: string | undefined;
  #faults: ScriptedFault[] = [];
  #nextId = 1000;
  #server = createServer((req, res) => {
    this.#handle(req, res).catch((err: unknown) => {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify(errorBody(String(err), "INTERNAL_ERROR")));
    });
  });
  #url = "";

  static async start(options: { token?: string } = {}): Promise<HubSpotFake> {
    const fake = new HubSpotFake();
    fake.token = options.token;
    await new Promise<void>((resolve) => fake.#server.listen(0, "127.0.0.1", resolve));
    fake.#url = `http://127.0.0.1:${(fake.#server.address() as AddressInfo).port}`;
    return fake;
  }

  /** Base URL for the SDK's `basePath`. */
  get url(): string {
    return this.#url;
  }

  async close(): Promise<void> {
    // Hung requests would otherwise keep the server open forever.
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  addCompany(properties: Record<string, string>): HubSpotRecord {
    const record = this.#record(properties);
    this.companies.push(record);
    return record;
  }

  /** A contact; `id` pins its id (recorded webhook events name real ids). */
  addContact(properties: Record<string, string>, id?: string): HubSpotRecord {
    const record = this.#record(properties, id);
    this.contacts.push(record);
    return record;
  }

  /** Answers the next `times` matching requests with `fault` instead of handling them. */
  inject(fault: HubSpotFault, options: { times?: number; method?: string; path?: RegExp } = {}): void {
    this.#faults.push({
      fault,
      remaining: options.times ?? 1,
      ...(options.method ? { method: options.method } : {}),
      ...(options.path ? { path: options.path } : {}),
    });
  }

  clearFaults(): void {
    this.#faults = [];
  }

  requestsTo(method: string, path: RegExp | string): RecordedRequest[] {
    return this.requests.filter(
      (r) => r.method === method && (typeof path === "string" ? r.path === path : path.test(r.path)),
    );
  }

  #record(properties: Record<string, string>, fixedId?: string): HubSpotRecord {
    const now = new Date().toISOString();
    const id = fixedId ?? String(this.#nextId++);
    return { id, properties: { ...properties, hs_object_id: id }, createdAt: now, updatedAt: now };
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fake");
    const raw = await readBody(req);
    let body: unknown = raw;
    if (raw !== "" && (req.headers["content-type"] ?? "").includes("json")) body = JSON.parse(raw);
    const recorded: RecordedRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      queryAll: Object.fromEntries(
        [...new Set(url.searchParams.keys())].map((k) => [k, url.searchParams.getAll(k)]),
      ),
      headers: req.headers,
      body,
    };
    this.requests.push(recorded);

    const scripted = this.#faults.find(
      (f) =>
        f.remaining > 0 &&
        (f.method === undefined || f.method === recorded.method) &&
        (f.path === undefined || f.path.test(recorded.path)),
    );
    if (scripted) {
      scripted.remaining--;
      const { fault } = scripted;
      recorded.fault = fault.kind;
      if (fault.kind === "hang") return; // never answers; close() drops the socket
      const headers: Record<string, string> = { "content-type": "application/json;charset=utf-8" };
      if (fault.retryAfter !== undefined) headers["retry-after"] = fault.retryAfter;
      res.writeHead(fault.status, headers);
      res.end(JSON.stringify(fault.body ?? faultBody(fault.status)));
      return;
    }

    if (this.token !== undefined && req.headers.authorization !== `Bearer ${this.token}`) {
      return send(
        res,
        401,
        errorBody(
          "Authentication credentials not found. This API supports OAuth 2.0 authentication.",
          "INVALID_AUTHENTICATION",
        ),
      );
    }

    for (const [method, pattern, handler] of this.#routes) {
      const match = recorded.method === method ? pattern.exec(recorded.path) : null;
      if (match) {
        const { status, body: out } = handler(recorded, match.slice(1));
        return send(res, status, out);
      }
    }
    send(res, 404, errorBody(`No route for ${recorded.method} ${recorded.path}`, "OBJECT_NOT_FOUND"));
  }

  readonly #routes: Array<[string, RegExp, Handler]> = [
    ["POST", /^\/crm\/v3\/objects\/companies\/search$/, (r) => this.#search(this.companies, r)],
    ["POST", /^\/crm\/v3\/objects\/contacts\/search$/, (r) => this.#search(this.contacts, r)],
    ["POST", /^\/crm\/v3\/objects\/notes\/search$/, (r) => this.#search(this.notes, r)],
    ["POST", /^\/crm\/v3\/objects\/tasks\/search$/, (r) => this.#search(this.tasks, r)],
    ["POST", /^\/crm\/v3\/objects\/contacts\/batch\/upsert$/, (r) => this.#upsertContacts(r)],
    ["GET", /^\/crm\/v3\/objects\/contacts\/([^/]+)$/, (r, [id]) => this.#getContact(r, id ?? "")],
    ["PATCH", /^\/crm\/v3\/objects\/contacts\/([^/]+)$/, (r, [id]) => this.#patchContact(r, id ?? "")],
    [
      "POST",
      /^\/crm\/v3\/objects\/notes$/,
      (r) => this.#createEngagement(this.notes, r, 202, "hs_note_body"),
    ],
    [
      "POST",
      /^\/crm\/v3\/objects\/tasks$/,
      (r) => this.#createEngagement(this.tasks, r, 204, "hs_task_subject"),
    ],
    ["GET", /^\/crm\/v3\/owners\/?$/, (r) => this.#listOwners(r)],
  ];

  /**
   * EQ filters on properties, and on `associations.<type>` (the record is associated with that id), as
   * HubSpot's search does; `sorts` by one property (`-` for descending); `after` is an offset cursor.
   */
  #search(records: HubSpotRecord[], req: RecordedRequest) {
    const body = req.body as {
      filterGroups?: Array<{ filters: Array<{ propertyName: string; operator: string; value?: string }> }>;
      properties?: string[];
      sorts?: string[];
      limit?: number;
      after?: string;
    };
    const groups = body.filterGroups ?? [];
    const matches = records.filter(
      (record) =>
        groups.length === 0 ||
        groups.some((g) =>
          g.filters.every((f) => {
            if (f.operator !== "EQ") throw new Error(`fake supports EQ only, got ${f.operator}`);
            if (f.propertyName.startsWith("associations."))
              return (record.associations ?? []).some((a) => a.to.id === f.value);
            return (record.properties[f.propertyName] ?? "").toLowerCase() === (f.value ?? "").toLowerCase();
          }),
        ),
    );
    const sort = body.sorts?.[0];
    if (sort) {
      const property = sort.replace(/^-/, "");
      const sign = sort.startsWith("-") ? -1 : 1;
      const value = (r: HubSpotRecord) =>
        property === "hs_createdate" ? r.createdAt : (r.properties[property] ?? "");
      // Records made in the same millisecond keep their creation order.
      matches.sort((a, b) => sign * (value(a).localeCompare(value(b)) || Number(a.id) - Number(b.id)));
    }
    const start = Number(body.after ?? 0);
    const limit = body.limit ?? 10;
    const results = matches.slice(start, start + limit).map((record) => ({
      ...publicObject(record, body.properties),
      archived: false,
    }));
    const next = start + limit < matches.length ? { paging: { next: { after: String(start + limit) } } } : {};
    return { status: 200, body: { total: matches.length, results, ...next } };
  }

  #upsertContacts(req: RecordedRequest) {
    const body = req.body as {
      inputs: Array<{ idProperty?: string; id: string; properties: Record<string, string> }>;
    };
    const now = new Date().toISOString();
    const results = [];
    for (const input of body.inputs) {
      if (input.idProperty !== "email") {
        return { status: 400, body: errorBody("fake supports idProperty=email only", "VALIDATION_ERROR") };
      }
      const email = input.id.toLowerCase();
      let record = this.contacts.find((c) => (c.properties.email ?? "").toLowerCase() === email);
      const isNew = record === undefined;
      if (!record) {
        record = this.#record({ email });
        this.contacts.push(record);
      }
      Object.assign(record.properties, input.properties);
      record.updatedAt = now;
      results.push({ ...publicObject(record), archived: false, new: isNew });
    }
    return { status: 200, body: { status: "COMPLETE", results, startedAt: now, completedAt: now } };
  }

  #getContact(req: RecordedRequest, id: string) {
    // `idProperty=email` reads by a unique property instead of the record id, as HubSpot does.
    const byEmail = req.query.idProperty === "email";
    const key = decodeURIComponent(id).toLowerCase();
    const record = this.contacts.find((c) =>
      byEmail ? (c.properties.email ?? "").toLowerCase() === key : c.id === id,
    );
    if (!record) return { status: 404, body: errorBody("resource not found", "OBJECT_NOT_FOUND") };
    // HubSpot answers the requested properties (null when unset) plus its defaults.
    const wanted = (req.queryAll.properties ?? []).flatMap((p) => p.split(","));
    const keys = [
      ...new Set([
        "createdate",
        "email",
        "firstname",
        "lastname",
        "lastmodifieddate",
        "hs_object_id",
        ...wanted,
      ]),
    ];
    return { status: 200, body: { ...publicObject(record, keys), archived: false } };
  }

  #patchContact(req: RecordedRequest, id: string) {
    const record = this.contacts.find((c) => c.id === id);
    if (!record) return { status: 404, body: errorBody("resource not found", "OBJECT_NOT_FOUND") };
    const body = req.body as { properties: Record<string, string> };
    Object.assign(record.properties, body.properties);
    record.updatedAt = new Date().toISOString();
    return { status: 200, body: { ...publicObject(record), archived: false } };
  }

  #createEngagement(into: HubSpotRecord[], req: RecordedRequest, typeId: number, required: string) {
    const body = req.body as {
      properties: Record<string, string>;
      associations?: HubSpotRecord["associations"];
    };
    if (!body.properties?.hs_timestamp || !body.properties[required]) {
      return {
        status: 400,
        body: errorBody(
          `Property values were not valid: ${required}, hs_timestamp required`,
          "VALIDATION_ERROR",
        ),
      };
    }
    for (const association of body.associations ?? []) {
      if (!this.contacts.some((c) => c.id === association.to.id)) {
        return {
          status: 400,
          body: errorBody(`No contact with id ${association.to.id}`, "VALIDATION_ERROR"),
        };
      }
      const ok = association.types.some(
        (t) => t.associationCategory === "HUBSPOT_DEFINED" && t.associationTypeId === typeId,
      );
      if (!ok) return { status: 400, body: errorBody("invalid association type", "VALIDATION_ERROR") };
    }
    const record = this.#record(body.properties);
    if (body.associations) record.associations = body.associations;
    into.push(record);
    return { status: 201, body: { ...publicObject(record), archived: false } };
  }

  #listOwners(req: RecordedRequest) {
    const limit = Number(req.query.limit ?? 100);
    const start = Number(req.query.after ?? 0);
    const page = this.owners.filter((o) => !o.archived).slice(start, start + limit);
    const now = new Date().toISOString();
    const next =
      start + limit < this.owners.length ? { paging: { next: { after: String(start + limit) } } } : {};
    return {
      status: 200,
      body: {
        results: page.map((o) => ({
          ...o,
          archived: o.archived ?? false,
          type: "PERSON",
          createdAt: now,
          updatedAt: now,
        })),
        ...next,
      },
    };
  }
}

function publicObject(record: HubSpotRecord, wanted?: string[]) {
  const properties: Record<string, string | null> = {};
  const keys = wanted ?? Object.keys(record.properties);
  for (const key of keys) properties[key] = record.properties[key] ?? null;
  return { id: record.id, properties, createdAt: record.createdAt, updatedAt: record.updatedAt };
}

/** HubSpot's error body shape. */
export function errorBody(message: string, category: string) {
  return { status: "error", message, correlationId: randomUUID(), category };
}

function faultBody(status: number) {
  if (status === 429) {
    return {
      ...errorBody("You have reached your ten_secondly_rolling limit.", "RATE_LIMITS"),
      errorType: "RATE_LIMIT",
      policyName: "TEN_SECONDLY_ROLLING",
    };
  }
  return errorBody("internal error", status >= 500 ? "INTERNAL_ERROR" : "VALIDATION_ERROR");
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json;charset=utf-8" });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
