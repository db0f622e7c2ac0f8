/** What every CLI command prints with: JSON input, tables, counts, assignees. */
import { readFileSync } from "node:fs";
import { routeLabel } from "../domain/labels.ts";
import type { Route } from "../domain/types.ts";

export function readJson(path: string): unknown {
  return JSON.parse(path === "-" ? readFileSync(0, "utf8") : readFileSync(path, "utf8"));
}

/** The person (or queue) a lead went to, with the pool that picked them. */
export function assignee(route: Route | undefined): string {
  if (!route) return "none";
  if (route.ownerId) return route.pool ? `${route.ownerId} (pool:${route.pool})` : route.ownerId;
  return routeLabel(route);
}

export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export function countBy<T>(items: T[], key: (t: T) => string): string {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(", ");
}
