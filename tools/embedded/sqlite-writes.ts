/**
 * How a stand-in's write reaches the shared SQLite connection. In the embedded profile the service commits the
 * writes of one turn of the event loop together (store/sqlite-batch.ts, which satisfies `WriteBatch`); a
 * stand-in given that batch writes in it and its promise settles once the write has committed, instead of
 * paying a commit of its own per statement. Without one (a private database, another process) a write
 * commits at once.
 */
export interface WriteBatch {
  run<T>(write: () => T): Promise<T>;
}

/** `write` in `batch` when there is one, else run now; a write that throws rejects either way. */
export function writeIn<T>(batch: WriteBatch | undefined, write: () => T): Promise<T> {
  if (batch) return batch.run(write);
  try {
    return Promise.resolve(write());
  } catch (err) {
    return Promise.reject(err);
  }
}
