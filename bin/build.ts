/**
 * `npm run build`: compiles the library to dist/ (JavaScript and .d.ts, tsconfig.build.json) and copies next
 * to it the data files the defaults in config/env.ts resolve relative to the code (`new URL("./routing.json",
 * import.meta.url)` and the like), so an installed package finds its RevOps files and stand-in data.
 */
import { execFileSync } from "node:child_process";
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const dist = join(root, "dist");

/** The defaults' data: RevOps files, prompts, and only the fixtures something reads by default. */
const ASSETS = [
  "config/routing.json",
  "config/scoring.json",
  "prompts/scoring.md",
  "prompts/summarize.md",
  // The embedded adapters: firmographics, the local CRM's known companies, the similar-accounts corpus.
  "fixtures/companies.json",
  "fixtures/crm-companies.json",
  "fixtures/accounts.json",
  // `leadgraph routing test` without --cases, and the source vocabulary `config check` lints against.
  "fixtures/leads_sample.json",
];

rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
execFileSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json")], {
  stdio: "inherit",
});
// tsc keeps `.ts` in the relative imports of declaration files (TypeScript accepts them there); editors and
// other tools expect the `.js` the compiled code uses, so the declarations get the same specifiers.
const RELATIVE_TS = /(\bfrom\s*|\bimport\s*\(\s*)(["'])(\.{1,2}\/[^"']*)\.ts\2/g;
for (const file of readdirSync(dist, { recursive: true, encoding: "utf8" })) {
  if (!file.endsWith(".d.ts")) continue;
  const path = join(dist, file);
  writeFileSync(path, readFileSync(path, "utf8").replace(RELATIVE_TS, "$1$2$3.js$2"));
}
for (const file of ASSETS) cpSync(join(root, file), join(dist, file));
// The web console's built assets (committed), which http/console.ts serves from beside the code.
cpSync(join(root, "console/dist"), join(dist, "console/dist"), {
  recursive: true,
});
console.log(`built ${dist}`);
