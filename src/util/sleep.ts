/** Resolves after `ms` milliseconds of real time (retry backoffs, polling). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
