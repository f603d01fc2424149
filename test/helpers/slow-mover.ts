import { FileMover } from "../../src/movers/file.js";
import type { MoveRequest, MoveResult, Mover } from "../../src/movers/mover.js";

/**
 * A mover for scheme `slow://` that holds each move until released, then
 * delivers with the real file mover: lets tests hold transfers in flight
 * and see how many are held at once.
 */
export class SlowMover implements Mover {
  // Also "ftp": a client config may only name schemes trollmoves knows, and these tests never reach a real ftp server.
  readonly schemes = ["slow", "ftp"];
  calls = 0;
  /** Moves started and not finished, and the most there ever were at once. */
  inFlight = 0;
  peak = 0;
  private readonly file = new FileMover();
  private opened = false;
  private readonly held: Array<() => void> = [];

  /** Let every held move go on, and every later one through at once. */
  release(): void {
    this.opened = true;
    for (const go of this.held.splice(0)) go();
  }

  /** Let the oldest held move go on. */
  releaseOne(): void {
    this.held.shift()?.();
  }

  async move(req: MoveRequest): Promise<MoveResult> {
    this.calls++;
    this.inFlight++;
    this.peak = Math.max(this.peak, this.inFlight);
    try {
      if (!this.opened) await new Promise<void>((go) => this.held.push(go));
      return await this.file.move({
        ...req,
        destination: { ...req.destination, scheme: "file" },
      });
    } finally {
      this.inFlight--;
    }
  }

  async close(): Promise<void> {
    this.release();
  }
}
