/**
 * Preloaded into a child process with `node --import <this file's URL>?out=<path> …`: records the URL of every
 * module the process loads, ESM and CommonJS alike (a synchronous loader hook sees both), and writes them one
 * per line to `out` when the process exits. Tests read it to prove what a start-up did not load.
 */
import { writeFileSync } from "node:fs";
import { registerHooks } from "node:module";

const out = new URL(import.meta.url).searchParams.get("out");
if (!out) throw new Error("record-modules: preload it as record-modules.ts?out=<file>");
const loaded = new Set<string>();
registerHooks({
  load(url, context, nextLoad) {
    loaded.add(url);
    return nextLoad(url, context);
  },
});
process.on("exit", () => writeFileSync(out, [...loaded].join("\n")));
