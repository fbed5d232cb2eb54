// A publisher's connection to its broker as its client reports it (NATS status events, node-redis
// events): up, or down with a reason. A publishing collector's /readyz follows it, so a load
// balancer stops sending requests when the connection drops, not only after a publish failed.

/** Told the link's state: undefined while it is up, else why it is down. */
export type LinkListener = (down: string | undefined) => void;

export class BrokerLink {
  private reason: string | undefined;
  private readonly listeners: LinkListener[] = [];

  /** Up, unless created down with a reason (a publisher still connecting). */
  constructor(down?: string) {
    this.reason = down;
  }

  /** Why the connection is down; undefined while it is up. */
  get down(): string | undefined {
    return this.reason;
  }

  lost(reason: string): void {
    this.set(reason);
  }

  restored(): void {
    this.set(undefined);
  }

  /** Calls listener with the state now, then on every change. */
  watch(listener: LinkListener): void {
    this.listeners.push(listener);
    listener(this.reason);
  }

  /** From now on in the state of `other`; up when there is none (a client that reports nothing). */
  follow(other: BrokerLink | undefined): void {
    if (other) other.watch((down) => this.set(down));
    else this.restored();
  }

  private set(reason: string | undefined): void {
    if (reason === this.reason) return;
    this.reason = reason;
    for (const listener of this.listeners) listener(reason);
  }
}
