/**
 * The bucket source and the object fetcher against s3rver on 127.0.0.1.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { BucketSource, ObjectFetcher, bucketPrefix, type BucketObject } from "../../../src/movers/s3-source.js";
import { captureLog } from "../../helpers/mover-kit.js";
import { S3_KEY, S3_SECRET, s3Skip, startS3 } from "../../helpers/s3d.js";
import { tempDir } from "../../helpers/tmp.js";
import { waitFor } from "../../helpers/wait.js";

const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

test("movers/s3-source - the fixed prefix of an origin pattern", () => {
  assert.deepEqual(bucketPrefix("s3://b/in/{name}.dat"), { bucket: "b", prefix: "in/" });
  assert.deepEqual(bucketPrefix("s3://b/H-000-{sat}-*"), { bucket: "b", prefix: "H-000-" });
  assert.deepEqual(bucketPrefix("s3://b/{name}"), { bucket: "b", prefix: "" });
});

test("movers/s3-source - backlog, new objects after the marker, pattern filter, fetch with sha256 check", { skip: s3Skip() }, async (t) => {
  const s3 = await startS3(["src"]);
  t.after(() => s3.stop());
  const client = new S3Client({ endpoint: s3.endpoint, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: S3_KEY, secretAccessKey: S3_SECRET } });
  t.after(() => client.destroy());
  const put = (key: string, body: Buffer, sum?: string): Promise<unknown> =>
    client.send(new PutObjectCommand({ Bucket: "src", Key: key, Body: body, ...(sum === undefined ? {} : { Metadata: { sha256: sum } }) }));
  const params = { endpoint_url: s3.endpoint, key: S3_KEY, secret: S3_SECRET };
  const { log } = captureLog();

  await put("in/a.dat", randomBytes(10));
  await put("other/x.dat", randomBytes(10));
  // A marker kept by an earlier run: listing starts after it.
  const resumed = new BucketSource({ origin: "s3://src/in/{name}.dat", connectionParameters: params, pollInterval: 0.05, backlog: true, marker: "in/a.dat", log });
  t.after(() => resumed.close());
  await resumed.start();
  const withBacklog = new BucketSource({ origin: "s3://src/in/{name}.dat", connectionParameters: params, pollInterval: 0.05, backlog: true, log });
  const without = new BucketSource({ origin: "s3://src/in/{name}.dat", connectionParameters: params, pollInterval: 0.05, backlog: false, log });
  t.after(() => withBacklog.close());
  t.after(() => without.close());
  await withBacklog.start();
  await without.start();
  const seen = (src: BucketSource): BucketObject[] => {
    const got: BucketObject[] = [];
    void (async () => {
      for await (const o of src) if (o.matches) got.push(o);
    })();
    return got;
  };
  const a = seen(withBacklog);
  const b = seen(without);
  const r = seen(resumed);
  await put("in/b.txt", randomBytes(10)); // no match
  const body = randomBytes(5000);
  await put("in/c.dat", body, sha(body));
  await waitFor(() => a.length >= 2 && b.length >= 1 && r.length >= 1, "c.dat listed by all three");
  assert.deepEqual(r.map((o) => o.uri), ["s3://src/in/c.dat"]);
  assert.deepEqual(a.map((o) => o.uri), ["s3://src/in/a.dat", "s3://src/in/c.dat"]);
  assert.deepEqual(b.map((o) => o.uri), ["s3://src/in/c.dat"]);
  assert.equal(a[1]?.size, 5000);

  const dir = await tempDir(t);
  const fetcher = new ObjectFetcher(params);
  t.after(() => fetcher.close());
  const { bytes } = await fetcher.fetch("s3://src/in/c.dat", join(dir, "c.dat"), new AbortController().signal);
  assert.equal(bytes, 5000);
  assert.equal(sha(await readFile(join(dir, "c.dat"))), sha(body));

  // Metadata that does not match what arrives: refused, nothing left behind.
  await put("in/bad.dat", randomBytes(100), "0".repeat(64));
  await assert.rejects(fetcher.fetch("s3://src/in/bad.dat", join(dir, "bad.dat"), new AbortController().signal), /checksum mismatch fetching s3:\/\/src\/in\/bad\.dat/);
  await assert.rejects(fetcher.fetch("s3://src/in/none.dat", join(dir, "none.dat"), new AbortController().signal), /NoSuchKey/);
  assert.deepEqual(await readdir(dir), ["c.dat"]);
});
