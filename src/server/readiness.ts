// Conditions that components report while they last (a drain that keeps failing, a full disk, a
// failing log): GET /readyz answers 503 with their reasons until each is cleared.

export class Readiness {
  private readonly problems = new Map<string, string>();

  /** Marks `check` as failing with a reason a person can act on (no secrets, no internal SQL). */
  fail(check: string, reason: string): void {
    this.problems.set(check, reason);
  }

  clear(check: string): void {
    this.problems.delete(check);
  }

  /** The failing checks, by name. */
  problemsNow(): Record<string, string> {
    return Object.fromEntries(this.problems);
  }
}
