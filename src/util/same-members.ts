/** Whether two broker-id lists hold the same ids, in any order (ISR comparisons). */
export function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id) => b.includes(id));
}
