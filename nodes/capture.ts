import { normalizePayload } from "../domain/normalize/lead.ts";
import type { LeadNode } from "./deps.ts";

/** A payload capture cannot turn into a lead; the HTTP layer answers it with 422 naming `field`. */
export class InvalidLeadError extends Error {
  override readonly name = "InvalidLeadError";
  readonly code = "invalid_lead";
  readonly status = 422;
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** The capture node: normalises `state.raw`; an unusable payload fails the run with InvalidLeadError. */
export function createCaptureNode(): LeadNode {
  return async (state) => {
    const result = normalizePayload(state.raw, state.source);
    if (!result.ok) throw new InvalidLeadError(result.field, result.message);
    return { source: result.source, lead: result.lead, warnings: result.warnings };
  };
}
