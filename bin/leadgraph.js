#!/usr/bin/env node
// The `leadgraph` command: cli.ts itself, with no build step (Node >= 22.18 strips the types).
await import("../cli.ts");
