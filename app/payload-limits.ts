/**
 * Structural limits on a delivery's parsed body, checked before anything is stored. The 256 KB byte limit
 * (http/app.ts) bounds the size; these bound the shape: a body nested thousands of levels deep fits in
 * 256 KB, parses, and then overflows the stack of whatever walks it recursively (JSON.stringify in the
 * store, the checkpoint serialiser), which would turn the sender's mistake into our 503 for ever.
 *
 * The walk is iterative, so no body can overflow it, and it stops at the first broken limit. They apply to
 * the whole body of every content type, a batch included.
 */

export const PAYLOAD_LIMITS = {
  /** Objects and arrays nested inside each other, the body itself counting as 1. */
  maxDepth: 32,
  /** Object keys plus array items in the whole body. */
  maxFields: 20_000,
  /** Characters (UTF-16 code units) in one string value. */
  maxStringChars: 16_384,
  /** Characters in one object key. */
  maxKeyChars: 256,
} as const;

export type PayloadLimits = { [K in keyof typeof PAYLOAD_LIMITS]: number };
export type PayloadLimit = keyof PayloadLimits;

export type LimitCheck = { ok: true } | { ok: false; limit: PayloadLimit; field: string; message: string };

/** A value still to visit, with what is needed to name its path if it breaks a limit. */
interface Visit {
  value: unknown;
  depth: number;
  parent: Visit | undefined;
  key: string | number | undefined;
}

/** The longest field name an error repeats back; a path 33 levels deep is named by its start. */
const MAX_FIELD_CHARS = 120;

function pathOf(visit: Visit | undefined): string {
  const parts: Array<string | number> = [];
  for (let v = visit; v?.key !== undefined; v = v.parent) parts.push(v.key);
  const path = parts.reverse().join(".");
  if (path === "") return "body";
  return path.length > MAX_FIELD_CHARS ? `${path.slice(0, MAX_FIELD_CHARS)}…` : path;
}

function broken(limit: PayloadLimit, field: string, message: string): LimitCheck {
  return { ok: false, limit, field, message };
}

export function checkPayloadLimits(body: unknown, limits: PayloadLimits = PAYLOAD_LIMITS): LimitCheck {
  const stack: Visit[] = [{ value: body, depth: 1, parent: undefined, key: undefined }];
  let fields = 0;
  for (let visit = stack.pop(); visit !== undefined; visit = stack.pop()) {
    const { value, depth } = visit;
    if (typeof value === "string") {
      if (value.length > limits.maxStringChars)
        return broken(
          "maxStringChars",
          pathOf(visit),
          `${pathOf(visit)} is longer than ${limits.maxStringChars} characters`,
        );
      continue;
    }
    if (typeof value !== "object" || value === null) continue;
    if (depth > limits.maxDepth)
      return broken(
        "maxDepth",
        pathOf(visit),
        `body is nested more than ${limits.maxDepth} levels deep (at ${pathOf(visit)})`,
      );
    if (Array.isArray(value)) {
      fields += value.length;
      if (fields > limits.maxFields) break;
      for (let i = value.length - 1; i >= 0; i--)
        stack.push({ value: value[i], depth: depth + 1, parent: visit, key: i });
      continue;
    }
    const keys = Object.keys(value);
    fields += keys.length;
    if (fields > limits.maxFields) break;
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i] as string;
      if (key.length > limits.maxKeyChars)
        return broken(
          "maxKeyChars",
          pathOf(visit),
          `a field name in ${pathOf(visit)} is longer than ${limits.maxKeyChars} characters`,
        );
      stack.push({ value: (value as Record<string, unknown>)[key], depth: depth + 1, parent: visit, key });
    }
  }
  if (fields > limits.maxFields)
    return broken(
      "maxFields",
      "body",
      `body has more than ${limits.maxFields} fields (object keys and array items)`,
    );
  return { ok: true };
}
