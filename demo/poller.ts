/**
 * Runs a task every `intervalMs`, never two at once: the next run is scheduled only after
 * the last one settled, so a slow broker call delays the view instead of piling calls up.
 */
export class Poller {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(
    private readonly intervalMs: number,
    private readonly task: () => Promise<void>,
    private readonly onError: (error: unknown) => void,
  ) {}

  start(): this {
    void this.tick();
    return this;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.task();
    } catch (error) {
      if (!this.stopped) this.onError(error);
    }
    if (!this.stopped) this.timer = setTimeout(() => void this.tick(), this.intervalMs);
  }
}
