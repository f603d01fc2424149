/**
 * The s3 mover against a real S3-compatible server (s3rver) on 127.0.0.1.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { open, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { TransferError } from "../../../src/errors.js";
import { S3Mover, localDigests } from "../../../src/movers/s3.js";
import { ObjectFetcher } from "../../../src/movers/s3-source.js";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { closedPort } from "../../helpers/daemon.js";
import {
  captureLog,
  randomFile,
  request,
  tempDir,
} from "../../helpers/mover-kit.js";
import {
  S3_KEY,
  S3_SECRET,
  s3Skip,
  startS3,
  type S3Server,
} from "../../helpers/s3d.js";
import { waitFor } from "../../helpers/wait.js";

const MIB = 1024 * 1024;

describe("movers/s3 - behaviour", { skip: s3Skip() }, () => {
  let s3: S3Server;
  let src: string;
  let mover: S3Mover;

  before(async () => {
    s3 = await startS3(["incoming", "other"]);
    src = await tempDir("s3-src");
    mover = new S3Mover();
  });

  after(async () => {
    await mover?.close();
    await s3?.stop();
    if (src !== undefined) await rm(src, { recursive: true, force: true });
  });

  const params = (
    extra: Record<string, unknown> = {},
  ): Record<string, unknown> => ({
    endpoint_url: s3.endpoint,
    key: S3_KEY,
    secret: S3_SECRET,
    ...extra,
  });
  const stored = (bucket: string, key: string): string =>
    join(s3.dir, bucket, `${key}._S3rver_object`);
  const sha = async (path: string): Promise<string> =>
    createHash("sha256")
      .update(await readFile(path))
      .digest("hex");
  const metadata = async (
    bucket: string,
    key: string,
  ): Promise<Record<string, string>> =>
    JSON.parse(
      await readFile(
        join(s3.dir, bucket, `${key}._S3rver_metadata.json`),
        "utf8",
      ),
    ) as Record<string, string>;

  it("puts a small file under the prefix, keeping its name, with its sha256 as metadata", async () => {
    const { log } = captureLog();
    const f = await randomFile(src, "small.dat", 1234);
    const res = await mover.move(
      request(f.path, "s3://incoming/a/b/", log, {
        connectionParameters: params(),
      }),
    );
    assert.deepEqual(res, {
      uri: "s3://incoming/a/b/small.dat",
      bytes: 1234,
      method: "upload",
    });
    assert.equal(await sha(stored("incoming", "a/b/small.dat")), f.sha256);
    assert.equal(
      (await metadata("incoming", "a/b/small.dat"))["x-amz-meta-sha256"],
      f.sha256,
    );
  });

  it("sends a large file as a multipart upload, intact", async () => {
    const { log, records } = captureLog();
    const f = await randomFile(src, "big.bin", 17 * MIB + 3);
    const res = await mover.move(
      request(f.path, "s3://incoming/", log, {
        connectionParameters: params({ part_size: 5 * MIB }),
      }),
    );
    assert.equal(res.uri, "s3://incoming/big.bin");
    assert.equal(await sha(stored("incoming", "big.bin")), f.sha256);
    assert.equal(
      records.find((r) => r.msg === "object uploaded")?.["parts"],
      4,
    );
    // The parts the store held until the upload completed are gone.
    assert.deepEqual(
      await readdir(join(s3.dir, "incoming", "._S3rver_uploads")),
      [],
    );
  });

  it("writes to a full key and replaces what is there", async () => {
    const { log } = captureLog();
    const one = await randomFile(src, "one.bin", 100);
    const two = await randomFile(src, "two.bin", 200);
    await mover.move(
      request(one.path, "s3://other/named/target.dat", log, {
        connectionParameters: params(),
      }),
    );
    const res = await mover.move(
      request(two.path, "s3://other/named/target.dat", log, {
        connectionParameters: params(),
      }),
    );
    assert.equal(res.uri, "s3://other/named/target.dat");
    assert.equal(await sha(stored("other", "named/target.dat")), two.sha256);
    assert.deepEqual(await s3.keys("other"), ["named/target.dat"]);
  });

  it("takes credentials and endpoint through client_kwargs, as s3fs does", async () => {
    const { log } = captureLog();
    const f = await randomFile(src, "kw.dat", 10);
    const cp = {
      client_kwargs: {
        endpoint_url: s3.endpoint,
        region_name: "eu-north-1",
        aws_access_key_id: S3_KEY,
        aws_secret_access_key: S3_SECRET,
      },
    };
    await mover.move(
      request(f.path, "s3://incoming/kw/", log, { connectionParameters: cp }),
    );
    assert.equal(await sha(stored("incoming", "kw/kw.dat")), f.sha256);
  });

  it("refuses an unknown access key with a clear error that echoes no secret", async () => {
    const { log, text } = captureLog();
    const f = await randomFile(src, "denied.dat", 10);
    const secret = "Very-Secret-Value-42";
    await assert.rejects(
      mover.move(
        request(f.path, "s3://incoming/denied/", log, {
          connectionParameters: params({ key: "NOT-A-KEY", secret }),
        }),
      ),
      (err: unknown) => {
        assert.ok(err instanceof TransferError);
        assert.match(
          err.message,
          /access denied to s3:\/\/incoming .*InvalidAccessKeyId/,
        );
        assert.equal(err.destination, "s3://incoming/denied/denied.dat");
        assert.ok(!err.message.includes(secret));
        return true;
      },
    );
    assert.ok(!text().includes(secret));
    assert.ok(
      !(await s3.keys("incoming")).some((k) => k.startsWith("denied/")),
    );
  });

  it("names a missing bucket", async () => {
    const { log } = captureLog();
    const f = await randomFile(src, "nobucket.dat", 10);
    await assert.rejects(
      mover.move(
        request(f.path, "s3://no-such-bucket/x/", log, {
          connectionParameters: params(),
        }),
      ),
      /no such bucket: s3:\/\/no-such-bucket/,
    );
  });

  it("says when the endpoint refuses connections", async () => {
    const { log } = captureLog();
    const f = await randomFile(src, "refused.dat", 10);
    const port = await closedPort();
    await assert.rejects(
      mover.move(
        request(f.path, "s3://incoming/x/", log, {
          connectionParameters: params({
            endpoint_url: `http://127.0.0.1:${port}`,
          }),
        }),
      ),
      new RegExp(`connection refused to 127\\.0\\.0\\.1:${port}`),
    );
  });

  it("rejects a bad option naming it", async () => {
    const { log } = captureLog();
    const f = await randomFile(src, "bad.dat", 10);
    await assert.rejects(
      mover.move(
        request(f.path, "s3://incoming/", log, {
          connectionParameters: params({ part_size: 1000 }),
        }),
      ),
      /connection_parameters__part_size must be at least/,
    );
    await assert.rejects(
      mover.move(
        request(f.path, "s3://incoming/", log, {
          connectionParameters: params({ secret: undefined }),
        }),
      ),
      /key and connection_parameters__secret must be given together/,
    );
  });

  it("leaves no object when the upload is aborted half-way", async () => {
    const { log } = captureLog();
    const f = await randomFile(src, "aborted.bin", 40 * MIB);
    const ac = new AbortController();
    const uploads = join(s3.dir, "incoming", "._S3rver_uploads");
    const moving = mover.move(
      request(f.path, "s3://incoming/abort/", log, {
        signal: ac.signal,
        connectionParameters: params({
          part_size: 5 * MIB,
          max_concurrency: 1,
        }),
      }),
    );
    // Abort once the store holds a part of this upload.
    await waitFor(
      async () => (await readdir(uploads).catch(() => [])).length > 0,
      "a part stored",
    );
    ac.abort(new Error("stop now"));
    await assert.rejects(moving, /stop now/);
    // A later upload that must complete; then the aborted key must still be absent.
    const g = await randomFile(src, "after.dat", 10);
    await mover.move(
      request(g.path, "s3://incoming/abort/", log, {
        connectionParameters: params(),
      }),
    );
    assert.deepEqual(
      (await s3.keys("incoming")).filter((k) => k.startsWith("abort/")),
      ["abort/after.dat"],
    );
  });

  it("streams an object of a bucket source: copied server-side on the same store, piped into a multipart upload otherwise, refused whole when its sha256 is wrong", async () => {
    const { log } = captureLog();
    const f = await randomFile(src, "obj.bin", 17 * MIB + 3);
    await mover.move(
      request(f.path, "s3://other/src/", log, {
        connectionParameters: params(),
      }),
    );
    const fetcher = new ObjectFetcher(params());
    try {
      const stream = await fetcher.source(
        "s3://other/src/obj.bin",
        new AbortController().signal,
      );
      assert.equal(stream.size, 17 * MIB + 3);
      assert.equal(stream.sha256, f.sha256);
      const copied = await mover.move(
        request("obj.bin", "s3://incoming/copied/", log, {
          connectionParameters: params(),
          stream,
        }),
      );
      assert.deepEqual(copied, {
        uri: "s3://incoming/copied/obj.bin",
        bytes: 17 * MIB + 3,
        method: "copy",
      });
      assert.equal(await sha(stored("incoming", "copied/obj.bin")), f.sha256);
      // Not an object of this store: streamed through, in parts.
      const piped = await mover.move(
        request("obj.bin", "s3://incoming/piped/", log, {
          connectionParameters: params({ part_size: 5 * MIB }),
          stream: { ...stream, object: undefined },
        }),
      );
      assert.deepEqual(piped, {
        uri: "s3://incoming/piped/obj.bin",
        bytes: 17 * MIB + 3,
        method: "stream",
      });
      assert.equal(await sha(stored("incoming", "piped/obj.bin")), f.sha256);
      assert.equal(
        (await metadata("incoming", "piped/obj.bin"))["x-amz-meta-sha256"],
        f.sha256,
      );
      // Metadata the bytes do not match: the stream fails at its end, the upload is aborted, no object.
      const client = new S3Client({
        endpoint: s3.endpoint,
        region: "us-east-1",
        forcePathStyle: true,
        credentials: { accessKeyId: S3_KEY, secretAccessKey: S3_SECRET },
      });
      try {
        await client.send(
          new PutObjectCommand({
            Bucket: "other",
            Key: "src/liar.bin",
            Body: await readFile(f.path),
            Metadata: { sha256: "0".repeat(64) },
          }),
        );
      } finally {
        client.destroy();
      }
      const liar = await fetcher.source(
        "s3://other/src/liar.bin",
        new AbortController().signal,
      );
      await assert.rejects(
        mover.move(
          request("liar.bin", "s3://incoming/piped/", log, {
            connectionParameters: params({ part_size: 5 * MIB }),
            stream: { ...liar, object: undefined },
          }),
        ),
        /checksum mismatch reading s3:\/\/other\/src\/liar\.bin/,
      );
      assert.ok(
        !(await s3.keys("incoming")).includes("piped/liar.bin"),
        "no object for bytes that failed their check",
      );
      await assert.rejects(
        fetcher.source("s3://other/src/none.bin", new AbortController().signal),
        /no such object: s3:\/\/other\/src\/none\.bin/,
      );
    } finally {
      await fetcher.close();
    }
  });
});

describe("movers/s3 - checksum", { skip: s3Skip() }, () => {
  it("fails and removes the object when the bytes stored are not the bytes digested", async (t) => {
    const s3 = await startS3(["incoming"]);
    t.after(() => s3.stop());
    const src = await tempDir("s3-sum");
    t.after(() => rm(src, { recursive: true, force: true }));
    const mover = new S3Mover();
    t.after(() => mover.close());
    const { log } = captureLog();
    const f = await randomFile(src, "changing.bin", 30 * MIB);
    const cp = {
      endpoint_url: s3.endpoint,
      key: S3_KEY,
      secret: S3_SECRET,
      part_size: 5 * MIB,
      max_concurrency: 1,
    };
    const moving = mover.move(
      request(f.path, "s3://incoming/", log, { connectionParameters: cp }),
    );
    const uploads = join(s3.dir, "incoming", "._S3rver_uploads");
    await waitFor(
      async () => (await readdir(uploads).catch(() => [])).length > 0,
      "a part stored",
    );
    // Same size, other bytes at the end: parts read from now on differ from what was digested.
    const fh = await open(f.path, "r+");
    await fh.write(Buffer.alloc(1024, 0xaa), 0, 1024, 30 * MIB - 1024);
    await fh.close();
    await assert.rejects(
      moving,
      /checksum mismatch for s3:\/\/incoming\/changing\.bin: .*object removed/,
    );
    assert.deepEqual(await s3.keys("incoming"), []);
  });
});

describe("movers/s3 - local digests", () => {
  it("gives the MD5 for one part and S3's MD5-of-MD5s-N for several, plus the whole MD5", async () => {
    const dir = await tempDir("s3-digest");
    try {
      const data = Buffer.alloc(11 * MIB + 5, 7);
      await writeFile(join(dir, "f"), data);
      const md5 = (b: Buffer): Buffer => createHash("md5").update(b).digest();
      const parts = [
        data.subarray(0, 5 * MIB),
        data.subarray(5 * MIB, 10 * MIB),
        data.subarray(10 * MIB),
      ].map(md5);
      const multi = `${createHash("md5").update(Buffer.concat(parts)).digest("hex")}-3`;
      const d = await localDigests(
        join(dir, "f"),
        5 * MIB,
        new AbortController().signal,
      );
      assert.deepEqual(d.etags, [multi, md5(data).toString("hex")]);
      assert.equal(d.sha256, createHash("sha256").update(data).digest("hex"));
      const one = await localDigests(
        join(dir, "f"),
        12 * MIB,
        new AbortController().signal,
      );
      assert.deepEqual(one.etags, [md5(data).toString("hex")]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
