/**
 * Every error move_it raises on purpose. Each class has a stable `code` so
 * callers and logs can match on it without parsing messages.
 */

export const ErrorCode = {
  GENERIC: "EMOVEIT",
  CONFIG: "EMOVEIT_CONFIG",
  MESSAGE_DECODE: "EMOVEIT_MESSAGE_DECODE",
  MESSAGE_ENCODE: "EMOVEIT_MESSAGE_ENCODE",
  PATTERN: "EMOVEIT_PATTERN",
  TRANSFER: "EMOVEIT_TRANSFER",
  REQUEST_TIMEOUT: "EMOVEIT_REQUEST_TIMEOUT",
  REMOTE: "EMOVEIT_REMOTE",
  CLOSED: "EMOVEIT_CLOSED",
  REFUSED: "EMOVEIT_REFUSED",
  UNPACK: "EMOVEIT_UNPACK",
  LEDGER_CORRUPT: "EMOVEIT_LEDGER_CORRUPT",
  LEDGER_TOO_NEW: "EMOVEIT_LEDGER_TOO_NEW",
  LEDGER_UNREADABLE: "EMOVEIT_LEDGER_UNREADABLE",
  LEDGER_KIND: "EMOVEIT_LEDGER_KIND",
  BIND: "EMOVEIT_BIND",
  STEP: "EMOVEIT_STEP",
  CONNECT: "EMOVEIT_CONNECT",
  CHECKSUM: "EMOVEIT_CHECKSUM",
} as const;
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base class: a stable `code`, a `name` equal to the class name, and `cause`. */
export class MoveItError extends Error {
  readonly code: string;
  constructor(message: string, options?: ErrorOptions & { code?: string }) {
    super(message, options);
    this.name = "MoveItError";
    this.code = options?.code ?? ErrorCode.GENERIC;
  }
}

/** A config file, section or option is wrong. The message names all of them. */
export class ConfigError extends MoveItError {
  readonly file: string | undefined;
  readonly section: string | undefined;
  readonly option: string | undefined;
  constructor(
    message: string,
    where: {
      file?: string;
      section?: string;
      option?: string;
      value?: string;
    } = {},
    options?: ErrorOptions,
  ) {
    super(ConfigError.describe(message, where), {
      ...options,
      code: ErrorCode.CONFIG,
    });
    this.name = "ConfigError";
    this.file = where.file;
    this.section = where.section;
    this.option = where.option;
  }

  private static describe(
    message: string,
    where: { file?: string; section?: string; option?: string; value?: string },
  ): string {
    const parts: string[] = [];
    if (where.file !== undefined) parts.push(`file ${where.file}`);
    if (where.section !== undefined) parts.push(`section [${where.section}]`);
    if (where.option !== undefined) parts.push(`option ${where.option}`);
    if (where.value !== undefined)
      parts.push(`value ${JSON.stringify(where.value)}`);
    return parts.length > 0 ? `${parts.join(", ")}: ${message}` : message;
  }
}

/** A frame is not a posttroll message. `reason` is short and safe to log. */
export class MessageDecodeError extends MoveItError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, code: ErrorCode.MESSAGE_DECODE });
    this.name = "MessageDecodeError";
  }
}

/** A message cannot be encoded (empty subject, data not serialisable...). */
export class MessageEncodeError extends MoveItError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, code: ErrorCode.MESSAGE_ENCODE });
    this.name = "MessageEncodeError";
  }
}

/** A pattern is invalid, or a string does not match it (trollsift's ValueError). */
export class PatternError extends MoveItError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, code: ErrorCode.PATTERN });
    this.name = "PatternError";
  }
}

/** A mover failed. `destination` never carries credentials. */
export class TransferError extends MoveItError {
  readonly scheme: string;
  readonly destination: string;
  constructor(
    message: string,
    where: { scheme: string; destination: string },
    options?: ErrorOptions,
  ) {
    super(message, { ...options, code: ErrorCode.TRANSFER });
    this.name = "TransferError";
    this.scheme = where.scheme;
    this.destination = where.destination;
  }
}

/**
 * One step of a network transfer failed (upload, rename, mkdir, a missing
 * local file), already worded for the operator. The mover wraps it in a
 * TransferError.
 */
export class StepError extends MoveItError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, code: ErrorCode.STEP });
    this.name = "StepError";
  }
}

/**
 * A connection could not be set up. `unreachable` failures (refused,
 * timeout, no route, unknown name) make the movers try the next host;
 * others (authentication, host key) do not.
 */
export class ConnectFailure extends MoveItError {
  readonly unreachable: boolean;
  constructor(message: string, unreachable: boolean, options?: ErrorOptions) {
    super(message, { ...options, code: ErrorCode.CONNECT });
    this.name = "ConnectFailure";
    this.unreachable = unreachable;
  }
}

/** A file announced with `checksum = sha256` could not be read to the end. */
export class ChecksumError extends MoveItError {
  readonly path: string;
  constructor(message: string, path: string, options?: ErrorOptions) {
    super(message, { ...options, code: ErrorCode.CHECKSUM });
    this.name = "ChecksumError";
    this.path = path;
  }
}

/** A request got no reply in time. */
export class RequestTimeoutError extends MoveItError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, code: ErrorCode.REQUEST_TIMEOUT });
    this.name = "RequestTimeoutError";
  }
}

/** The peer answered `err` (or `error`, `unknown`). */
export class RemoteError extends MoveItError {
  readonly replyType: string;
  constructor(message: string, replyType = "err", options?: ErrorOptions) {
    super(message, { ...options, code: ErrorCode.REMOTE });
    this.name = "RemoteError";
    this.replyType = replyType;
  }
}

/** Work was submitted to a component that is closing or closed. */
export class ClosedError extends MoveItError {
  constructor(message = "closed", options?: ErrorOptions) {
    super(message, { ...options, code: ErrorCode.CLOSED });
    this.name = "ClosedError";
  }
}

/** A request asks for something the server will not serve (not announced, escapes, ...). */
export class RefusedError extends MoveItError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, code: ErrorCode.REFUSED });
    this.name = "RefusedError";
  }
}

/** Unpacking (bzip2, tar, xRIT) failed. */
export class UnpackError extends MoveItError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, code: ErrorCode.UNPACK });
    this.name = "UnpackError";
  }
}

/**
 * A socket could not listen. The message says which setting asked for the
 * port (`section [hrit], request_port 9201`, `publish port (-p) 9010`), so an
 * operator knows what to change.
 */
export class BindError extends MoveItError {
  readonly what: string;
  readonly endpoint: string;
  constructor(what: string, endpoint: string, cause: unknown) {
    super(`${what}: cannot listen on ${endpoint}: ${bindReason(cause)}`, {
      cause,
      code: ErrorCode.BIND,
    });
    this.name = "BindError";
    this.what = what;
    this.endpoint = endpoint;
  }
}

function bindReason(cause: unknown): string {
  const code = (cause as { code?: string } | undefined)?.code;
  const text = errorMessage(cause);
  if (code === "EADDRINUSE" || /address already in use/i.test(text))
    return "address already in use (another process listens there)";
  if (code === "EACCES" || /permission denied/i.test(text))
    return "permission denied (ports below 1024 need privileges)";
  if (
    code === "EADDRNOTAVAIL" ||
    /can't assign requested address|cannot assign requested address/i.test(text)
  )
    return "no such address on this host";
  return text;
}

/** True for the DOMExceptions an aborted signal throws: never wrap these. */
export function isAbortError(err: unknown): boolean {
  return (
    err instanceof Error &&
    (err.name === "AbortError" || err.name === "TimeoutError")
  );
}

/** The message of anything thrown, without a stack. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Codes a LedgerError can carry. */
export type LedgerErrorCode =
  | typeof ErrorCode.LEDGER_CORRUPT
  | typeof ErrorCode.LEDGER_TOO_NEW
  | typeof ErrorCode.LEDGER_UNREADABLE
  | typeof ErrorCode.LEDGER_KIND;

/**
 * A ledger file cannot be used: corrupt, unreadable, written by a newer
 * move_it, or of the other kind (a client's ledger given to a server). The
 * message names the file and says what the operator can do; a daemon never
 * starts on a silently emptied ledger.
 */
export class LedgerError extends MoveItError {
  readonly path: string;
  constructor(
    message: string,
    path: string,
    code: LedgerErrorCode,
    options?: ErrorOptions,
  ) {
    super(message, { ...options, code });
    this.name = "LedgerError";
    this.path = path;
  }
}
