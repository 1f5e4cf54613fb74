import { RequestTimedOutError, TabkaError } from '../errors';
import { sleep } from './sleep';

export interface RetryOptions {
  readonly timeoutMs: number;
  readonly now: () => number;
  readonly backoffMs: number;
  /** Errors worth another attempt; any other ends the retries at once. */
  readonly retriable: (error: unknown) => boolean;
  /** What timed out, for the RequestTimedOutError when no attempt failed in a typed way. */
  readonly what: string;
}

/**
 * Runs `attempt` (given the time left) until it succeeds, fails with an error that is not
 * retriable, or the time is up; then the last retriable error is what the caller sees, since
 * it says more than "timed out".
 */
export async function retryUntil<T>(options: RetryOptions, attempt: (remainingMs: number) => Promise<T>): Promise<T> {
  const deadline = options.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    const remaining = deadline - options.now();
    if (remaining <= 0) throw lastError instanceof TabkaError ? lastError : new RequestTimedOutError(options.what, options.timeoutMs);
    try {
      return await attempt(remaining);
    } catch (error) {
      if (!options.retriable(error)) throw error;
      lastError = error;
      await sleep(Math.min(options.backoffMs, Math.max(0, deadline - options.now())));
    }
  }
}
