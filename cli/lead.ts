/**
 * `leadgraph lead <action> <leadId> [--by NAME] [--reason R] [--to OWNER]`: an owner's or reviewer's action
 * from the terminal, on the same store and queue the service uses (DATA_DIR or REDIS_URL). The action is
 * queued as the resume of the lead's wait; the running service's workers (or `leadgraph worker`) apply it.
 */
import { userInfo } from "node:os";
import { ALL_ACTIONS, type OwnerAction } from "../app/lead-service.ts";
import { createLogger } from "../app/logger.ts";
import { createRuntime } from "../app/runtime.ts";
import type { Env } from "../config/env.ts";

export interface LeadActionOptions {
  by?: string;
  reason?: string;
  to?: string;
  json: boolean;
}

function whoami(): string {
  try {
    return userInfo().username;
  } catch {
    return "unknown";
  }
}

export async function leadActionCommand(
  env: Env,
  action: string,
  leadId: string,
  options: LeadActionOptions,
): Promise<number> {
  if (!(ALL_ACTIONS as readonly string[]).includes(action)) {
    console.error(`unknown action "${action}": one of ${ALL_ACTIONS.join(", ")}`);
    return 2;
  }
  const runtime = await createRuntime(env, { logger: createLogger({ level: "warn" }), worker: false });
  try {
    const result = await runtime.service.act(leadId, {
      action: action as OwnerAction["action"],
      by: options.by ?? `cli:${whoami()}`,
      via: "cli",
      ...(options.reason !== undefined ? { reason: options.reason } : {}),
      ...(options.to !== undefined ? { to: options.to } : {}),
    });
    if (options.json) console.log(JSON.stringify(result));
    else if (result.ok) console.log(`${action} queued for lead ${leadId}`);
    else console.error(`${result.code}: ${result.message}`);
    if (result.ok) return 0;
    return result.code === "invalid" ? 2 : 1;
  } finally {
    await runtime.close();
  }
}
