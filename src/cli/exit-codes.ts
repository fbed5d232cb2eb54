/** The CLI's exit statuses; docs/errors.md lists them. */
export const EXIT = {
  ok: 0,
  /** A failure adpipe did not expect (a bug, a crash of a dependency). */
  unexpected: 1,
  /** A usage error or an `ADP_ERR_*` error. */
  error: 2,
  /** `ingest` set a file aside (unreadable, cut off). */
  setAside: 3,
  /** `ingest` read records (or files) and accepted none of them. */
  nothingAccepted: 4,
  /** Another process holds the data dir (ADP_ERR_WAREHOUSE_LOCKED): `adpipe serve`, or a writer still running. */
  locked: 5,
} as const;
