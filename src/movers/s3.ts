/**
 * `s3://bucket/prefix/`: upload with the AWS SDK v3. A trailing `/` keeps
 * the file name (trollmoves' rule); files larger than one part go up as a
 * multipart upload (lib-storage), which S3 makes visible only when it
 * completes, and which is aborted on failure, so no partial object ever
 * appears under the key. The local file's sha256 travels as object metadata
 * (`x-amz-meta-sha256`), and the ETag the store returns is checked against
 * the MD5 (per part for multipart) computed here; a mismatch deletes the
 * object and fails the push. Buckets are never created: a missing one is an
 * error, where s3fs would make it.
 */
import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { basename } from "node:path";
import { DeleteObjectCommand, type PutObjectCommandInput, type S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { TransferError } from "../errors.js";
import type { Logger } from "../log.js";
import { formatUrl } from "../util/url.js";
import type { MoveRequest, MoveResult, Mover } from "./mover.js";
import { StepError, abortable, localSize, safeMessage } from "./remote.js";
import { S3ClientCache, describeS3Failure } from "./s3-client.js";
import { objectKey, s3Settings, type S3Settings } from "./s3-settings.js";

/** What the local file should look like on the store. */
export interface LocalDigests {
  size: number;
  sha256: string;
  /** Parts of a multipart upload (1: a single PUT). */
  parts: number;
  /** The ETags a store may give these bytes uploaded in parts of `partSize`: S3's (MD5, or MD5 of the part MD5s and `-N`) and the whole file's MD5 (some stores give that for multipart too). */
  etags: readonly string[];
}

/** One pass over the file: its sha256, and the ETags a store may report for it. */
export async function localDigests(path: string, partSize: number, signal: AbortSignal): Promise<LocalDigests> {
  const { size } = await localSize(path);
  const sha = createHash("sha256");
  const whole = createHash("md5");
  const parts: Buffer[] = [];
  let part: Hash = createHash("md5");
  let inPart = 0;
  for await (const chunk of createReadStream(path, { signal, highWaterMark: 1 << 20 })) {
    const buf = chunk as Buffer;
    sha.update(buf);
    whole.update(buf);
    for (let at = 0; at < buf.length; ) {
      const take = Math.min(partSize - inPart, buf.length - at);
      part.update(buf.subarray(at, at + take));
      inPart += take;
      at += take;
      if (inPart === partSize) {
        parts.push(part.digest());
        part = createHash("md5");
        inPart = 0;
      }
    }
  }
  if (inPart > 0) parts.push(part.digest());
  const count = Math.max(1, Math.ceil(size / partSize));
  const md5 = whole.digest("hex");
  const etags = count === 1 ? [md5] : [`${createHash("md5").update(Buffer.concat(parts)).digest("hex")}-${count}`, md5];
  return { size, sha256: sha.digest("hex"), parts: count, etags };
}

/** An ETag shaped like an MD5 (what S3 gives unless the object is KMS- or customer-key encrypted). */
function md5Shaped(etag: string): boolean {
  return /^[0-9a-f]{32}(-\d+)?$/.test(etag);
}

interface UploadJob {
  bucket: string;
  key: string;
  source: string;
  digests: LocalDigests;
  signal: AbortSignal;
  log: Logger;
}

async function upload(client: S3Client, s: S3Settings, job: UploadJob): Promise<void> {
  const body = createReadStream(job.source);
  const params: PutObjectCommandInput = {
    ...(s.extra as Partial<PutObjectCommandInput>),
    Bucket: job.bucket,
    Key: job.key,
    Body: body,
    ContentLength: job.digests.size,
    Metadata: { sha256: job.digests.sha256 },
    ...(s.checksumAlgorithm === undefined ? {} : { ChecksumAlgorithm: s.checksumAlgorithm }),
  };
  const up = new Upload({ client, params, partSize: s.partSize, queueSize: s.queueSize, leavePartsOnError: false });
  try {
    const out = await abortable(job.signal, () => up.done(), () => void up.abort());
    const etag = (out.ETag ?? "").replace(/"/g, "").toLowerCase();
    if (s.verifyEtag && md5Shaped(etag) && !job.digests.etags.includes(etag)) {
      await client.send(new DeleteObjectCommand({ Bucket: job.bucket, Key: job.key })).catch(() => undefined);
      throw new StepError(`checksum mismatch for s3://${job.bucket}/${job.key}: the store has ETag ${etag}, the file gives ${job.digests.etags[0] ?? ""}; object removed`);
    }
  } finally {
    body.destroy();
  }
}

/** The mover for `s3://`. */
export class S3Mover implements Mover {
  readonly schemes: readonly string[] = ["s3"];
  private readonly clients = new S3ClientCache();

  async move(req: MoveRequest): Promise<MoveResult> {
    const dest = req.destination;
    const bucket = dest.hostname;
    const key = objectKey(dest.path, basename(req.source));
    const uri = `s3://${bucket}/${key}`;
    let settings: S3Settings | undefined;
    try {
      if (bucket === "") throw new StepError(`no bucket in destination ${formatUrl(dest)}`);
      settings = s3Settings(req.connectionParameters, dest);
      const started = Date.now();
      const digests = await localDigests(req.source, settings.partSize, req.signal);
      const client = await this.clients.get(settings);
      await upload(client, settings, { bucket, key, source: req.source, digests, signal: req.signal, log: req.log });
      req.log.debug({ bucket, key, bytes: digests.size, parts: digests.parts, sha256: digests.sha256, durationMs: Date.now() - started }, "object uploaded");
      return { uri, bytes: digests.size, method: "upload" };
    } catch (err) {
      if (req.signal.aborted) throw req.signal.reason;
      const known = err instanceof StepError || err instanceof TypeError;
      const message = known ? safeMessage(err) : describeS3Failure(err, bucket, settings?.endpoint);
      throw new TransferError(safeMessage(message), { scheme: "s3", destination: uri }, { cause: err });
    }
  }

  close(): Promise<void> {
    return this.clients.close();
  }
}
