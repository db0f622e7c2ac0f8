import type { Route } from "./types.ts";

/** How a route reads against a label: an owner id, `pool:<id>` or `queue:<id>`. */
export function routeLabel(route: Route | undefined): string {
  if (!route) return "none";
  if (route.pool) return `pool:${route.pool}`;
  if (route.queue) return `queue:${route.queue}`;
  return route.ownerId ?? "none";
}
