import { accountText, corpusAccountText } from "../domain/accounts/profile.ts";
import type { PastAccount } from "../domain/types.ts";
import { isSparseEmbedder, isSparseVectorIndex } from "../tools/embedded/sparse-vector.ts";
import type { Embedder, VectorIndex } from "../tools/ports.ts";

export interface IndexAccountsResult {
  /** Accounts given. */
  accounts: number;
  /** Distinct ids written (a repeated id keeps its last version). */
  upserted: number;
  /** Embed + upsert rounds. */
  batches: number;
}

/**
 * Embeds past accounts and upserts them keyed by account id, so running it again (after an edit
 * to accounts.json, or by mistake) overwrites in place instead of adding duplicates. When the embedder and
 * the index both speak sparse vectors (the embedded profile), the vectors go from one to the other sparsely
 * and the index keeps the account objects given instead of copying them: callers hand the corpus over.
 */
export async function indexAccounts(
  accounts: PastAccount[],
  embedder: Embedder,
  index: VectorIndex,
  options: { batchSize?: number } = {},
): Promise<IndexAccountsResult> {
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? 100));
  const unique = lastOfEachId(accounts);
  let batches = 0;
  if (isSparseEmbedder(embedder) && isSparseVectorIndex(index)) {
    const embed = embedder.bulkSparse();
    const text = corpusAccountText();
    for (let start = 0; start < unique.length; start += batchSize) {
      const batch = unique.slice(start, start + batchSize);
      await index.upsertSparse(
        batch.map((account) => ({ id: account.id, vector: embed(text(account)), account })),
      );
      batches++;
    }
    return { accounts: accounts.length, upserted: unique.length, batches };
  }
  for (let start = 0; start < unique.length; start += batchSize) {
    const batch = unique.slice(start, start + batchSize);
    const vectors = await embedder.embed(batch.map(accountText));
    if (vectors.length !== batch.length)
      throw new Error(`${embedder.name} returned ${vectors.length} vectors for ${batch.length} accounts`);
    await index.upsert(
      batch.map((account, i) => {
        const values = vectors[i]!;
        if (values.length !== embedder.dimension)
          throw new Error(
            `${embedder.name} returned ${values.length} dimensions, expected ${embedder.dimension}`,
          );
        return { id: account.id, values, account };
      }),
    );
    batches++;
  }
  return { accounts: accounts.length, upserted: unique.length, batches };
}

/**
 * Last version of each id wins, as it would in the index; also avoids two writes of one id in a batch. A
 * corpus whose ids strictly ascend (what `leadgraph accounts index` writes) has no repeat and is kept as given.
 */
function lastOfEachId(accounts: PastAccount[]): PastAccount[] {
  let ascending = true;
  for (let i = 1; i < accounts.length && ascending; i++)
    ascending = (accounts[i - 1] as PastAccount).id < (accounts[i] as PastAccount).id;
  if (ascending) return accounts;
  const byId = new Map<string, PastAccount>();
  for (const account of accounts) byId.set(account.id, account);
  return [...byId.values()];
}
