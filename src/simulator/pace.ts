// Pacing of the simulator's live targets (`generate --to … --rate`): a batch leaves when the events
// handed out so far are due at the rate, so a slow start or a stall is caught up, never exceeded.

/** Waits until `sent` events are due at `rate` events/s counted from `started` (performance.now()). */
export async function paceTo(started: number, sent: number, rate: number | undefined): Promise<void> {
  if (!rate) return;
  const due = started + (sent / rate) * 1000;
  const now = performance.now();
  if (due > now) await new Promise((r) => setTimeout(r, due - now));
}
