/**
 * `info`: the announced files under the request's subject, newest first,
 * with `max_count` and the uptime as Python's timedelta prints it.
 */
import { Message } from "../../message/index.js";
import type { ChainContext } from "../context.js";

/** The reference caps the list to keep the reply a sane size. */
export const INFO_MAX_COUNT = 2256;

/** `str(timedelta)`: `H:MM:SS[.ffffff]`, with `N day(s), ` in front past a day. */
export function pyTimedelta(ms: number): string {
  const micro = Math.round(ms * 1000);
  const totalSeconds = Math.floor(micro / 1_000_000);
  const frac = micro % 1_000_000;
  const days = Math.floor(totalSeconds / 86400);
  const h = Math.floor((totalSeconds % 86400) / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds % 60;
  let out = `${h}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
  if (frac !== 0) out += `.${String(frac).padStart(6, "0")}`;
  return days > 0 ? `${days} day${days === 1 ? "" : "s"}, ${out}` : out;
}

export function handleInfo(ctx: ChainContext, req: Message): Promise<Message> {
  const asked = req.dataObject["max_count"];
  const maxCount =
    typeof asked === "number" && asked >= 0
      ? Math.min(asked, INFO_MAX_COUNT)
      : INFO_MAX_COUNT;
  const files = ctx.registry.list(req.subject, maxCount);
  const uptime = pyTimedelta(performance.now() - ctx.startedAt);
  return Promise.resolve(
    new Message(req.subject, "info", { files, max_count: maxCount, uptime }),
  );
}
