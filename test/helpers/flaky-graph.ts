import { Annotation, type BaseCheckpointSaver, END, START, StateGraph } from "@langchain/langgraph";
import type { CheckpointTuple } from "@langchain/langgraph-checkpoint";

// A small graph both checkpointer suites run: it proves resume-at-the-failed-node on a real StateGraph.
export const Trail = Annotation.Root({
  /** Node ids in the order they finished. */
  trail: Annotation<string[]>({ reducer: (left, right) => left.concat(right), default: () => [] }),
});

/** first -> flaky -> last, where `flaky` throws `failures` times and `last` runs a one-node subgraph. */
export function buildFlakyGraph(checkpointer: BaseCheckpointSaver, failures: number) {
  const calls = { first: 0, flaky: 0, last: 0 };
  let failuresLeft = failures;
  const inner = new StateGraph(Trail)
    .addNode("innerStep", async () => ({ trail: ["inner"] }))
    .addEdge(START, "innerStep")
    .addEdge("innerStep", END)
    .compile();
  const graph = new StateGraph(Trail)
    .addNode("first", async () => {
      calls.first += 1;
      return { trail: ["first"] };
    })
    .addNode("flaky", async () => {
      calls.flaky += 1;
      if (failuresLeft > 0) {
        failuresLeft -= 1;
        throw new Error("flaky failed");
      }
      return { trail: ["flaky"] };
    })
    .addNode("last", async (_state, config) => {
      calls.last += 1;
      // Runs the subgraph so the thread also gets checkpoints in a child namespace.
      const { trail } = await inner.invoke({ trail: [] }, config);
      return { trail: [...trail, "last"] };
    })
    .addEdge(START, "first")
    .addEdge("first", "flaky")
    .addEdge("flaky", "last")
    .addEdge("last", END)
    .compile({ checkpointer });
  return { graph, calls };
}

export async function listThread(
  saver: BaseCheckpointSaver,
  threadId: string,
  ns?: string,
): Promise<CheckpointTuple[]> {
  const tuples: CheckpointTuple[] = [];
  const configurable =
    ns === undefined ? { thread_id: threadId } : { thread_id: threadId, checkpoint_ns: ns };
  for await (const tuple of saver.list({ configurable })) tuples.push(tuple);
  return tuples;
}
