export interface Weighted<T> {
  item: T;
  /** Positive whole number. */
  weight: number;
}

/**
 * One full cycle of nginx's smooth weighted round-robin: every item appears `weight` times in a
 * cycle of length sum(weights), spread out rather than in runs (3:2:1 gives a b a c b a, not a a a b b c),
 * so a member never gets a burst of leads while the others wait.
 */
export function smoothWeightedOrder<T>(members: ReadonlyArray<Weighted<T>>): T[] {
  const total = members.reduce((sum, m) => sum + m.weight, 0);
  const current = members.map(() => 0);
  const order: T[] = [];
  for (let step = 0; step < total; step++) {
    let best = 0;
    members.forEach((m, i) => {
      current[i] = (current[i] ?? 0) + m.weight;
      if ((current[i] ?? 0) > (current[best] ?? 0)) best = i;
    });
    current[best] = (current[best] ?? 0) - total;
    order.push(members[best]!.item);
  }
  return order;
}

/** 0-based slot for the n-th assignment (n counts from 1, as an incremented counter does). */
export function slotOf(n: number, cycleLength: number): number {
  return (((n - 1) % cycleLength) + cycleLength) % cycleLength;
}
