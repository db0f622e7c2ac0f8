/**
 * The console's one way to the server: same-origin fetches with the session cookie, the anti-CSRF token on
 * every state-changing request, and errors turned into a sentence (never a stack trace).
 */

import type { Ownership } from "../../domain/ownership.ts";
import type { TimelineEntry } from "../../domain/types.ts";

export type { Ownership };

export type Role = "admin" | "viewer";

export interface Session {
  role: Role;
  csrfToken: string;
  expiresAt: string;
}

/** A failed request, said for a person: the server's own message when it sent one. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

let csrfToken = "";
/** Called when the server says the session is gone. */
let onSignedOut: () => void = () => {};

export function setSession(session: Session | null): void {
  csrfToken = session?.csrfToken ?? "";
}

export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const method = init.method ?? "GET";
  const headers: Record<string, string> = { accept: "application/json" };
  if (init.body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET") headers["x-csrf-token"] = csrfToken;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
  } catch {
    throw new ApiError(0, "network", "The server could not be reached. Check the connection and try again.");
  }
  if (response.status === 204) return undefined as T;
  const body = (await response.json().catch(() => ({}))) as { error?: string; message?: string };
  if (!response.ok) {
    if (response.status === 401 && !path.startsWith("/console/session")) onSignedOut();
    const message =
      response.status >= 500
        ? "The server had a problem with this request. Try again in a moment."
        : (body.message ?? `Request refused (${response.status}).`);
    throw new ApiError(response.status, body.error ?? "error", message);
  }
  return body as T;
}

export function errorText(err: unknown): string {
  return err instanceof ApiError ? err.message : "Something went wrong. Try again.";
}

// ----------------------------------------------------------------- Shapes the pages read

export interface LeadView {
  leadId: string;
  status: string;
  source?: string;
  receivedAt: string;
  updatedAt: string;
  attempts: number;
  lastError?: { node?: string; message: string; cause?: string; at: string };
  company?: string;
  domain?: string;
  email?: string;
  channel?: string;
  ownerId?: string;
  path?: string;
  tier?: string;
  notifiedAt?: string;
  result?: {
    score?: number;
    tier?: string;
    ruleScore?: number;
    reasons?: Array<{ field: string; value: unknown; points: number; text: string }>;
    owner?: string;
    rule?: string;
    explanation?: string[];
    path?: string;
    warnings?: Array<{ node: string; code: string; message: string }>;
    llm?: { adjustment: number; reasons: string[]; model: string };
  };
  timeline?: TimelineEntry[];
  /** Who holds the lead once its message went out (the lead page only). */
  ownership?: Ownership;
  message?: { text: string; blocks: Array<Record<string, unknown>> };
}

export interface LeadPage {
  leads: LeadView[];
  nextCursor?: string;
}

export interface Processing {
  paused: boolean;
  since?: string;
  queued?: number;
}
