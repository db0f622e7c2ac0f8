#!/usr/bin/env node
// The `leadgraph` command. In a source checkout it runs cli.ts itself (Node >= 22.18 strips the types, no
// build step, never a stale build); the installed package ships only the compiled dist/cli.js.
import { existsSync } from "node:fs";

const source = new URL("../cli.ts", import.meta.url);
await import(existsSync(source) ? source.href : new URL("../dist/cli.js", import.meta.url).href);
