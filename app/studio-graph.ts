/**
 * The lead graph for the LangGraph dev server and LangGraph Studio (`langgraph.json` at the repository root,
 * `npx @langchain/langgraph-cli dev`). It runs on the embedded stand-ins in memory: no Redis, no DATA_DIR,
 * no vendor even when credentials are in the environment. The server compiles the returned StateGraph with
 * its own checkpointer and calls this factory per request, so the ports are built once per process.
 */
import { defineLeadGraph } from "../graph/build.ts";
import { createEmbeddedDeps } from "./embedded-deps.ts";

let graph: Promise<ReturnType<typeof defineLeadGraph>> | undefined;

export function studioGraph(): Promise<ReturnType<typeof defineLeadGraph>> {
  graph ??= createEmbeddedDeps().then(
    ({ deps }) => defineLeadGraph(deps),
    (err: unknown) => {
      // A failed start (an invalid RevOps file) is tried again on the next request, after the fix.
      graph = undefined;
      throw err;
    },
  );
  return graph;
}
