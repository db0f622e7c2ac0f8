import type { LeadState } from "./state.ts";

/** Low scores never reach an AE: nurture; qualified and review leads get a summary and a message. */
export function pathAfterRouting(state: Pick<LeadState, "path">): "summarize" | "nurtureLead" {
  return state.path === "nurture" ? "nurtureLead" : "summarize";
}
