/** Times keyed by job id: `mark` records when something happened, `wait` resolves with that time. */
export class Signals {
  private readonly times = new Map<string, number>();
  private readonly waiters = new Map<string, (time: number) => void>();

  mark(id: string, time = performance.now()): void {
    const waiter = this.waiters.get(id);
    if (waiter) {
      this.waiters.delete(id);
      waiter(time);
    } else {
      this.times.set(id, time);
    }
  }

  async wait(id: string, timeoutMs: number): Promise<number> {
    const time = this.times.get(id);
    if (time !== undefined) {
      this.times.delete(id);
      return time;
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      return await new Promise<number>((resolve, reject) => {
        this.waiters.set(id, resolve);
        timer = setTimeout(() => {
          this.waiters.delete(id);
          reject(new Error(`job ${id}: no signal within ${timeoutMs} ms`));
        }, timeoutMs);
      });
    } finally {
      clearTimeout(timer);
    }
  }
}
