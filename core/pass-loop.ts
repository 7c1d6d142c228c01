// A background loop of passes: run one, wait the delay it asks for, run the next. Passes never
// overlap; a failing pass is reported and the loop goes on; stop() waits for the pass under way.
// The campaign monitor, the webhook dispatcher, the bridge's leader election and its action sync
// are each such a loop.
export class PassLoop {
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<void> = Promise.resolve();
  private halted = true;

  /**
   * @param pass runs once and resolves with the milliseconds to wait before the next pass
   * @param onError reports a failed pass and returns the milliseconds to wait before the next one
   */
  constructor(
    private readonly pass: () => Promise<number>,
    private readonly onError: (error: unknown) => number,
  ) {}

  get stopped(): boolean {
    return this.halted;
  }

  start(delay = 0): void {
    if (!this.halted) return;
    this.halted = false;
    this.schedule(delay);
  }

  /** Runs a pass as soon as the current one (if any) ends. */
  wake(): void {
    if (this.halted) return;
    clearTimeout(this.timer);
    void this.current.then(() => {
      clearTimeout(this.timer);
      this.schedule(0);
    });
  }

  async stop(): Promise<void> {
    this.halted = true;
    clearTimeout(this.timer);
    await this.current;
  }

  private schedule(delay: number): void {
    if (this.halted) return;
    this.timer = setTimeout(() => {
      this.current = this.pass().then(
        (next) => this.schedule(next),
        (error) => this.schedule(this.onError(error)),
      );
    }, delay);
  }
}
