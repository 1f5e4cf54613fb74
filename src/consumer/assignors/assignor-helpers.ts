/** What every built-in assignor needs: one order for ids, and checked partition counts. */
import type { MemberSubscription } from '../assignor';

/** Code-unit order, as Java's String.compareTo: locale-independent, so every client agrees. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function sortByMemberId(members: readonly MemberSubscription[]): MemberSubscription[] {
  const sorted = [...members].sort((a, b) => compareStrings(a.memberId, b.memberId));
  for (let i = 1; i < sorted.length; i++) {
    const id = sorted[i]?.memberId;
    // Two members with one id would have to share one entry of the result.
    if (id === sorted[i - 1]?.memberId) throw new RangeError(`duplicate member id ${JSON.stringify(id)}`);
  }
  return sorted;
}

/** The topic's partition count, or undefined when the topic does not exist. */
export function partitionCount(partitionsPerTopic: Readonly<Record<string, number>>, topic: string): number | undefined {
  // hasOwn: a topic named like an Object.prototype member ('constructor') must not read the prototype.
  if (!Object.hasOwn(partitionsPerTopic, topic)) return undefined;
  const count = partitionsPerTopic[topic];
  if (count === undefined) return undefined;
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new RangeError(`partition count of topic ${JSON.stringify(topic)} must be an integer >= 0, got ${count}`);
  }
  return count;
}
