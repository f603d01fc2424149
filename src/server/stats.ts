/** Counters an operator can read (status view, metrics). */
export interface ServerStats {
  announced: number;
  requests: Record<string, number>;
  pushes: number;
  pushesJoined: number;
  pushesFailed: number;
  bytesSent: number;
  refused: number;
  malformed: number;
  /** Files the reconcile scan found that no event had announced. */
  rescanFound: number;
  /** Ledger rows pruned after `ledger_retention`. */
  pruned: number;
}

export function newServerStats(): ServerStats {
  return {
    announced: 0,
    requests: {},
    pushes: 0,
    pushesJoined: 0,
    pushesFailed: 0,
    bytesSent: 0,
    refused: 0,
    malformed: 0,
    rescanFound: 0,
    pruned: 0,
  };
}
