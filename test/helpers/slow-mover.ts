import { FileMover } from "../../src/movers/file.js";
import type { MoveRequest, MoveResult, Mover } from "../../src/movers/mover.js";

/**
 * A mover for scheme `slow://` that waits until released, then delivers
 * with the real file mover: lets tests hold a transfer in flight.
 */
export class SlowMover implements Mover {
  // Also "ftp": a client config may only name schemes trollmoves knows, and these tests never reach a real ftp server.
  readonly schemes = ["slow", "ftp"];
  calls = 0;
  private readonly file = new FileMover();
  private gate: Promise<void>;
  private open!: () => void;

  constructor() {
    this.gate = new Promise((r) => (this.open = r));
  }

  release(): void {
    this.open();
  }

  async move(req: MoveRequest): Promise<MoveResult> {
    this.calls++;
    await this.gate;
    return this.file.move({ ...req, destination: { ...req.destination, scheme: "file" } });
  }

  async close(): Promise<void> {
    this.open();
  }
}
