/**
 * Runs async operations one at a time, in call order. A partition's appends, truncations and
 * deletions go through one queue so offsets are assigned from a log end that cannot move
 * underneath them; a failed operation does not block the ones after it.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.tail.then(operation, operation);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
