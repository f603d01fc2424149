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
}

export function newServerStats(): ServerStats {
  return { announced: 0, requests: {}, pushes: 0, pushesJoined: 0, pushesFailed: 0, bytesSent: 0, refused: 0, malformed: 0 };
}
