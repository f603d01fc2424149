/**
 * The bucket source and the object fetcher (stream sources) against s3rver on 127.0.0.1.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { test } from "node:test";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import {
  BucketSource,
  ObjectFetcher,
  bucketPrefix,
  type BucketObject,
} from "../../../src/movers/s3-source.js";
import { captureLog } from "../../helpers/mover-kit.js";
import { S3_KEY, S3_SECRET, s3Skip, startS3 } from "../../helpers/s3d.js";
import { waitFor } from "../../helpers/wait.js";

const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

test("movers/s3-source - the fixed prefix of an origin pattern", () => {
  assert.deepEqual(bucketPrefix("s3://b/in/{name}.dat"), {
    bucket: "b",
    prefix: "in/",
  });
  assert.deepEqual(bucketPrefix("s3://b/H-000-{sat}-*"), {
    bucket: "b",
    prefix: "H-000-",
  });
  assert.deepEqual(bucketPrefix("s3://b/{name}"), { bucket: "b", prefix: "" });
});

test(
  "movers/s3-source - backlog, new objects after the marker, pattern filter, an object opened as a stream source with its sha256 checked",
  { skip: s3Skip() },
  async (t) => {
    const s3 = await startS3(["src"]);
    t.after(() => s3.stop());
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: S3_KEY, secretAccessKey: S3_SECRET },
    });
    t.after(() => client.destroy());
    const put = (key: string, body: Buffer, sum?: string): Promise<unknown> =>
      client.send(
        new PutObjectCommand({
          Bucket: "src",
          Key: key,
          Body: body,
          ...(sum === undefined ? {} : { Metadata: { sha256: sum } }),
        }),
      );
    const params = {
      endpoint_url: s3.endpoint,
      key: S3_KEY,
      secret: S3_SECRET,
    };
    const { log } = captureLog();

    await put("in/a.dat", randomBytes(10));
    await put("other/x.dat", randomBytes(10));
    // A marker kept by an earlier run: listing starts after it.
    const resumed = new BucketSource({
      origin: "s3://src/in/{name}.dat",
      connectionParameters: params,
      pollInterval: 0.05,
      backlog: true,
      marker: "in/a.dat",
      log,
    });
    t.after(() => resumed.close());
    await resumed.start();
    const withBacklog = new BucketSource({
      origin: "s3://src/in/{name}.dat",
      connectionParameters: params,
      pollInterval: 0.05,
      backlog: true,
      log,
    });
    const without = new BucketSource({
      origin: "s3://src/in/{name}.dat",
      connectionParameters: params,
      pollInterval: 0.05,
      backlog: false,
      log,
    });
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
    await waitFor(
      () => a.length >= 2 && b.length >= 1 && r.length >= 1,
      "c.dat listed by all three",
    );
    assert.deepEqual(
      r.map((o) => o.uri),
      ["s3://src/in/c.dat"],
    );
    assert.deepEqual(
      a.map((o) => o.uri),
      ["s3://src/in/a.dat", "s3://src/in/c.dat"],
    );
    assert.deepEqual(
      b.map((o) => o.uri),
      ["s3://src/in/c.dat"],
    );
    assert.equal(a[1]?.size, 5000);

    const fetcher = new ObjectFetcher(params);
    t.after(() => fetcher.close());
    const read = async (uri: string): Promise<Buffer> => {
      const source = await fetcher.source(uri, new AbortController().signal);
      const chunks: Buffer[] = [];
      for await (const chunk of await source.open(new AbortController().signal))
        chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    };
    const c = await fetcher.source(
      "s3://src/in/c.dat",
      new AbortController().signal,
    );
    assert.deepEqual([c.size, c.sha256], [5000, sha(body)]);
    assert.equal(sha(await read("s3://src/in/c.dat")), sha(body));

    // Metadata that does not match what arrives: the stream fails at its end; a missing object is named.
    await put("in/bad.dat", randomBytes(100), "0".repeat(64));
    await assert.rejects(
      read("s3://src/in/bad.dat"),
      /checksum mismatch reading s3:\/\/src\/in\/bad\.dat/,
    );
    await assert.rejects(
      read("s3://src/in/none.dat"),
      /no such object: s3:\/\/src\/in\/none\.dat/,
    );
  },
);
