/**
 * Lead progress as events. Nodes report their own start and end through LangGraph's `custom` stream
 * (`config.writer`), timed where they run; the runner adds what it learns from the `updates` and
 * `checkpoints` streams (the route, warnings, durable steps) and the outcome, and hands every event to its
 * caller as an async iterator and to any listener (the HTTP host's live view, metrics).
 */
import { isGraphInterrupt, type LangGraphRunnableConfig } from "@langchain/langgraph";
import type { LeadStateValues } from "../domain/snapshot.ts";
import type { Issue, LeadPath } from "../domain/types.ts";
import type { LeadNode } from "../nodes/deps.ts";

/** What a timed node writes to the `custom` stream. */
export interface NodeProgress {
  kind: "leadgraph.node";
  node: string;
  phase: "start" | "end" | "error" | "interrupted";
  /** Epoch milliseconds, taken inside the node's task. */
  at: number;
  durationMs?: number;
  error?: string;
}

export function isNodeProgress(chunk: unknown): chunk is NodeProgress {
  return (
    typeof chunk === "object" && chunk !== null && (chunk as { kind?: unknown }).kind === "leadgraph.node"
  );
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Wraps a node so that it reports its start and end (with its duration) on the `custom` stream. Outside a
 * streamed run (`invoke`, the LangGraph dev server without custom mode) `config.writer` is absent and the
 * wrapper only calls the node.
 */
export function timed(node: string, fn: LeadNode) {
  return async (state: LeadStateValues, config?: LangGraphRunnableConfig) => {
    const write = config?.writer;
    if (!write) return fn(state, config);
    const started = Date.now();
    write({ kind: "leadgraph.node", node, phase: "start", at: started } satisfies NodeProgress);
    try {
      const update = await fn(state, config);
      const at = Date.now();
      write({
        kind: "leadgraph.node",
        node,
        phase: "end",
        at,
        durationMs: at - started,
      } satisfies NodeProgress);
      return update;
    } catch (err) {
      const at = Date.now();
      // A human-in-the-loop pause is not a failure: the node runs again when the lead is resumed.
      const phase = isGraphInterrupt(err) ? "interrupted" : "error";
      write({
        kind: "leadgraph.node",
        node,
        phase,
        at,
        durationMs: at - started,
        ...(phase === "error" ? { error: messageOf(err) } : {}),
      } satisfies NodeProgress);
      throw err;
    }
  };
}

interface EventBase {
  leadId: string;
  /** ISO timestamp. */
  at: string;
}

/** One step of a lead's progress, as the runner streams it. */
export type LeadEvent =
  | (EventBase & { type: "run.started"; attempt: number; resumeAt?: string[] })
  | (EventBase & { type: "node.started"; node: string })
  | (EventBase & { type: "node.finished"; node: string; durationMs: number })
  | (EventBase & { type: "node.failed"; node: string; durationMs: number; error: string })
  | (EventBase & {
      type: "lead.routed";
      path: LeadPath | undefined;
      rule: string;
      ownerId?: string;
      queue?: string;
      pool?: string;
    })
  /** `handoff`: the message to a new holder after a hand-off (not the lead's first: no speed to lead). */
  | (EventBase & { type: "lead.notified"; channel: string; ownerId?: string; handoff?: boolean })
  | (EventBase & { type: "lead.warning"; warning: Issue })
  | (EventBase & { type: "lead.completed"; path: LeadPath | undefined; alreadyCompleted?: boolean })
  /** Delivered, and waiting for its owner (or a reviewer) or its SLA timer, in wait `round`. */
  | (EventBase & {
      type: "lead.awaiting";
      round: number;
      waitingFor: "owner" | "review";
      ownerId?: string;
      deadline?: string;
    })
  /** `nextAttemptAt`: the queue runs the lead again then (the lead is `retrying`); absent: it is `failed`. */
  | (EventBase & { type: "lead.failed"; node?: string; error: string; nextAttemptAt?: string });

export type LeadEventType = LeadEvent["type"];
