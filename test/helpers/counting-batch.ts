import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { SqliteBatch } from "../../store/sqlite-batch.ts";

/**
 * A database file in WAL mode and the service's group commit on it (store/sqlite-batch.ts), counting the
 * writes handed to it: for stand-ins that should write in the batch rather than commit on their own.
 */
export async function countingBatch(name: string) {
  const dir = await mkdtemp(join(tmpdir(), `leadgraph-${name}-batch-`));
  const path = join(dir, `${name}.db`);
  const db = new DatabaseSync(path);
  db.exec("PRAGMA journal_mode = WAL");
  const inner = new SqliteBatch(db);
  let runs = 0;
  return {
    db,
    batch: {
      run<T>(write: () => T): Promise<T> {
        runs += 1;
        return inner.run(write);
      },
    },
    runs: () => runs,
    /** A second connection, as another process would read the file. */
    reader: () => new DatabaseSync(path),
    async close() {
      db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
