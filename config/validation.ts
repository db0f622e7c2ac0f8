import { readFileSync } from "node:fs";
import type { z } from "zod";

/** One problem in a RevOps file, located by JSON path (`$.rules[3].assign.pool`). */
export interface ConfigProblem {
  path: string;
  message: string;
}

export type Parsed<T> = { ok: true; config: T } | { ok: false; errors: ConfigProblem[] };

export function jsonPath(segments: ReadonlyArray<PropertyKey>): string {
  return segments.reduce<string>(
    (acc, seg) => (typeof seg === "number" ? `${acc}[${seg}]` : `${acc}.${String(seg)}`),
    "$",
  );
}

export function zodProblems(error: z.ZodError): ConfigProblem[] {
  return error.issues.map((issue) => ({ path: jsonPath(issue.path), message: issue.message }));
}

export function formatProblems(file: string, problems: ConfigProblem[]): string {
  return problems.map((p) => `${file}: ${p.path}: ${p.message}`).join("\n");
}

/** Line and column (1-based) of the first JSON syntax error; V8 omits them for some errors. */
export function locateJsonError(text: string): { line: number; column: number } {
  let i = 0;
  const fail = (): never => {
    throw i;
  };
  const skip = () => {
    while (i < text.length && " \t\n\r".includes(text.charAt(i))) i++;
  };
  const token = (re: RegExp) => {
    re.lastIndex = i;
    if (!re.test(text)) fail();
    i = re.lastIndex;
  };
  const items = (close: string, item: () => void) => {
    i++;
    skip();
    if (text.charAt(i) !== close) {
      for (let more = true; more; ) {
        item();
        skip();
        more = text.charAt(i) === ",";
        if (more) i++;
        else if (text.charAt(i) !== close) fail();
      }
    }
    i++;
  };
  // biome-ignore lint/suspicious/noControlCharactersInRegex: JSON forbids raw control characters in strings.
  const string = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
  const member = () => {
    skip();
    token(string);
    skip();
    token(/:/y);
    value();
  };
  const value = () => {
    skip();
    const c = text.charAt(i);
    if (c === "{") items("}", member);
    else if (c === "[") items("]", value);
    else if (c === '"') token(string);
    else token(/-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y);
  };
  try {
    value();
    skip();
    if (i < text.length) fail();
  } catch (at) {
    if (typeof at !== "number") throw at;
    i = at;
  }
  const before = text.slice(0, i).split("\n");
  return { line: before.length, column: (before.at(-1)?.length ?? 0) + 1 };
}

/** JSON.parse whose error names the line and column, as a located problem instead of a throw. */
export function parseJsonText(
  text: string,
): { ok: true; value: unknown } | { ok: false; errors: ConfigProblem[] } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    const { line, column } = locateJsonError(text);
    // V8 appends either a position or a copy of the input; neither helps once line/column are known.
    const reason = (err as Error).message.replace(
      / in JSON at position.*$|, (?:\.\.\.)?".*is not valid JSON$/s,
      "",
    );
    return {
      ok: false,
      errors: [{ path: "$", message: `invalid JSON at line ${line} column ${column}: ${reason}` }],
    };
  }
}

/** Reads a RevOps JSON file; a missing file or bad JSON is a problem at `$`, not a throw. */
export function readJsonFile(
  file: string,
): { ok: true; value: unknown } | { ok: false; errors: ConfigProblem[] } {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    return {
      ok: false,
      errors: [{ path: "$", message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? err}` }],
    };
  }
  return parseJsonText(text);
}
