/**
 * LangGraph's checkpoint serializer, byte for byte, with a fast path for plain JSON data.
 *
 * The default serializer (JsonPlusSerializer, reachable as any saver's `serde`) walks every value twice on
 * the way out (a circular-reference pass, then `JSON.stringify` calling a JavaScript replacer on every
 * value) and revives every value through an async function on the way in. A lead's state is plain JSON:
 * strings, numbers, booleans, null, arrays and plain objects. For such a value the replacer changes
 * nothing and there is no cycle, so `JSON.stringify` alone writes the same bytes; and a parsed value with no
 * `lc` record in it is what the reviver would return. Anything else (undefined, Sets, Maps, Dates, class
 * instances, typed arrays, LangChain objects, records that look like the serializer's own) takes the
 * default path, so what is stored and what is read back never differ from LangGraph's own.
 */
import { MemorySaver, type SerializerProtocol } from "@langchain/langgraph-checkpoint";

// Deeper than any lead state; deeper values (or cycles) take the default path.
const MAX_DEPTH = 64;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Whether `JSON.stringify(value)` writes what LangGraph's replacer-driven stringify writes. */
function isPlainJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case "string":
    case "boolean":
    case "number":
      return true;
    case "object": {
      if (value === null) return true;
      if (depth >= MAX_DEPTH) return false;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          // A hole or undefined becomes null natively but a record in LangGraph's form.
          if (item === undefined || !isPlainJson(item, depth + 1)) return false;
        }
        return true;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      const record = value as Record<string, unknown>;
      // LangGraph writes a Send-shaped object its own way.
      if (record.lg_name === "Send") return false;
      // A plain object's enumerable keys are its own (Object.prototype has none): no key array needed.
      for (const key in record) {
        const item = record[key];
        if (item === undefined || !isPlainJson(item, depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

/** Whether a parsed value holds anything LangGraph's reviver would turn into something else. */
function needsReviver(value: unknown, depth: number): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (depth >= MAX_DEPTH) return true;
  if (Array.isArray(value)) {
    for (const item of value) if (needsReviver(item, depth + 1)) return true;
    return false;
  }
  const record = value as Record<string, unknown>;
  if (Object.hasOwn(record, "lc") || Object.hasOwn(record, "__proto__")) return true;
  for (const key of Object.keys(record)) if (needsReviver(record[key], depth + 1)) return true;
  return false;
}

export class FastJsonSerializer implements SerializerProtocol {
  /** LangGraph's own serializer, for everything the fast path leaves alone. */
  readonly #fallback: SerializerProtocol = new MemorySaver().serde;

  async dumpsTyped(value: unknown): Promise<[string, Uint8Array]> {
    if (!(value instanceof Uint8Array) && isPlainJson(value, 0))
      return ["json", encoder.encode(JSON.stringify(value))];
    return this.#fallback.dumpsTyped(value);
  }

  async loadsTyped(type: string, data: Uint8Array | string): Promise<unknown> {
    if (type === "json") {
      const value: unknown = JSON.parse(typeof data === "string" ? data : decoder.decode(data));
      if (!needsReviver(value, 0)) return value;
    }
    return this.#fallback.loadsTyped(type, data);
  }
}
