/**
 * Requests as the Python server serves them, and the `uri` the Python
 * client publishes, established by running both (issue 11, item 6).
 *
 * 1. The same requests go to a Python server and to ours, each serving its
 *    own copy of the same files: a collection of datasets (nested), a
 *    dataset whose items carry `path` (rel_path), a file with `path`, an
 *    `ack` for a file outside `origin`. The reply types must be equal, and
 *    the trees the pushes made must be equal file for file.
 * 2. A Python client and ours take the same files, announced by our
 *    server, to each destination form (`file://`, a bare path, `ftp://` to
 *    this host with a port, `ftp:///` with no host) on a vsftpd in the
 *    lab: the `uri` each publishes must be equal.
 * 3. For the forms a lab cannot push to (a remote host, `scp://`,
 *    `sftp://`, a login, `s3://`), the Python client's own uri builder
 *    (`trollmoves.client.make_uris`) and ours are run side by side in the
 *    lab's namespace on the same inputs.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import {
  mkdir,
  readdir,
  readFile,
  rm,
  stat,
  writeFile,
} from "node:fs/promises";
import { join, relative } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { Message } from "../../src/message/index.js";
import { VSFTPD, ftpdTree } from "../helpers/ftpd.js";
import { REPO_ROOT } from "../helpers/netns.js";
import { referenceDir, type InteropLab } from "../helpers/reference.js";
import {
  drop,
  inLab,
  ini,
  makeFiles,
  makeSite,
  outputOf,
  published,
  sha256,
  skip,
  uidOf,
  waitPublished,
  warmUp,
} from "../helpers/interop-kit.js";

const run = promisify(execFile);
const PY_PUB = 9010;
const PY_REQ = 9201;
const TS_PUB = 9011;
const TS_REQ = 9202;
const TOPIC = "/interop/requests";

// Sends each frame given (one per argument after the endpoint) on a REQ socket; prints each reply as a JSON string.
const REQUEST_SCRIPT = `
import json, sys, zmq
ctx = zmq.Context()
for frame in sys.argv[2:]:
    s = ctx.socket(zmq.REQ)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(sys.argv[1])
    s.send_string(frame)
    if s.poll(30000):
        print(json.dumps(s.recv_string()), flush=True)
    else:
        print(json.dumps("timeout"), flush=True)
    s.close()
`;

/** Send frames to a request port inside the lab; the reply frames, in order. */
async function requests(
  lab: InteropLab,
  label: string,
  port: number,
  msgs: readonly Message[],
): Promise<Message[]> {
  const script = await ini(lab, `${label}.py`, REQUEST_SCRIPT);
  const proc = lab.py(label, "python", [
    script,
    `tcp://127.0.0.1:${port}`,
    ...msgs.map((m) => m.encode()),
  ]);
  const code = await proc.exited;
  const out = await outputOf(proc);
  assert.equal(code, "0", `${label}: ${out}`);
  return out
    .split("\n")
    .filter((l) => l.startsWith('"'))
    .map((l) => JSON.parse(l) as string)
    .map((frame) =>
      frame === "timeout"
        ? assert.fail(`${label}: no reply`)
        : Message.decode(frame),
    );
}

/** Every file under `dir`, as relative path → sha256. */
async function tree(
  dir: string,
  base = dir,
  out = new Map<string, string>(),
): Promise<Map<string, string>> {
  for (const name of await readdir(dir)) {
    const p = join(dir, name);
    if ((await stat(p)).isDirectory()) await tree(p, base, out);
    else out.set(relative(base, p), sha256(await readFile(p)));
  }
  return out;
}

test(
  "interop/requests - nested collections, per-item path, ack outside origin: our server answers and writes as Python's does",
  { skip, timeout: 150_000 },
  async (t) => {
    await inLab(t, "reqsrv", async (lab) => {
      const names = ["c1", "c2", "c3", "d1", "d2", "f1", "f2"].map(
        (n) => `${n}.dat`,
      );
      const roots: Record<"py" | "ts", { inDir: string; out: string }> = {
        py: { inDir: "", out: "" },
        ts: { inDir: "", out: "" },
      };
      for (const kind of ["py", "ts"] as const) {
        const site = await makeSite(join(lab.dir, kind));
        const out = join(lab.dir, `${kind}-out`);
        await mkdir(out);
        for (const n of names) await writeFile(join(site.inDir, n), `${n}\n`);
        roots[kind] = { inDir: site.inDir, out };
      }
      const sIni = (kind: "py" | "ts", req: number) =>
        ini(
          lab,
          `${kind}-server.ini`,
          `[requests]\norigin = ${roots[kind].inDir}/{name}.dat\ntopic = ${TOPIC}\nrequest_port = ${req}\nrequest_address = 127.0.0.1\ndelete = False\n`,
        );
      lab.py("py-server", "move_it_server", [
        "-p",
        String(PY_PUB),
        "--disable-backlog",
        "-v",
        await sIni("py", PY_REQ),
      ]);
      lab.ours("ts-server", "server", [
        await sIni("ts", TS_REQ),
        "-p",
        String(TS_PUB),
        "--host",
        "127.0.0.1",
        "--disable-backlog",
        "--state-dir",
        join(lab.dir, "state"),
        "-v",
      ]);
      await lab.reachable(PY_REQ);
      await lab.reachable(TS_REQ);

      const msgsFor = (kind: "py" | "ts"): Message[] => {
        const item = (n: string, path?: string) => ({
          uri: `${roots[kind].inDir}/${n}`,
          uid: n,
          ...(path === undefined ? {} : { path }),
        });
        const destination = `file://vm${roots[kind].out}/`;
        return [
          new Message(TOPIC, "push", {
            collection: [
              { dataset: [item("c1.dat"), item("c2.dat")] },
              { dataset: [item("c3.dat")] },
            ],
            destination,
          }),
          new Message(TOPIC, "push", {
            dataset: [item("d1.dat", "sub/"), item("d2.dat", "deep/er/")],
            destination,
          }),
          new Message(TOPIC, "push", {
            ...item("f1.dat", "one/"),
            destination,
          }),
          new Message(TOPIC, "push", {
            ...item("f2.dat", "two/f2-renamed.dat"),
            destination,
          }),
          new Message(TOPIC, "ack", {
            uri: "/etc/passwd",
            uid: "passwd",
            destination,
          }),
        ];
      };
      const py = await requests(lab, "req-py", PY_REQ, msgsFor("py"));
      const ts = await requests(lab, "req-ts", TS_REQ, msgsFor("ts"));
      assert.deepEqual(
        ts.map((m) => m.type),
        py.map((m) => m.type),
        `reply types: python ${py.map((m) => m.encode()).join(" | ")}`,
      );
      assert.deepEqual(
        py.map((m) => m.type),
        ["collection", "dataset", "file", "file", "err"],
        "what Python answers (the premise of this test)",
      );
      const pyTree = await tree(roots.py.out);
      const tsTree = await tree(roots.ts.out);
      // One difference, on purpose: Python joins each item's path onto the destination the previous item
      // of the same request was moved to (it overwrites the request's destination), so a second item's
      // path lands inside the first one's. Ours joins every item's path onto the request's destination.
      assert.ok(
        pyTree.has("sub/deep/er/d2.dat"),
        `Python's cumulative path (the premise of the one difference): ${[...pyTree.keys()].join(" ")}`,
      );
      pyTree.set("deep/er/d2.dat", pyTree.get("sub/deep/er/d2.dat")!);
      pyTree.delete("sub/deep/er/d2.dat");
      assert.deepEqual(
        [...tsTree.keys()].sort(),
        [...pyTree.keys()].sort(),
        "the same files at the same paths",
      );
      for (const [p, sum] of pyTree)
        assert.equal(tsTree.get(p), sum, `${p}: same content`);
      for (const p of [
        "c1.dat",
        "c2.dat",
        "c3.dat",
        "sub/d1.dat",
        "deep/er/d2.dat",
        "one/f1.dat",
        "two/f2-renamed.dat",
      ])
        assert.ok(tsTree.has(p), `${p} written`);
    });
  },
);

const CLIENT_PY_PUB = 9040;
const CLIENT_TS_PUB = 9041;

test(
  "interop/requests - the uri both clients publish, for file://, a bare path, ftp://host:port/ and ftp:/// destinations",
  { skip, timeout: 200_000 },
  async (t) => {
    await inLab(t, "requri", async (lab) => {
      // vsftpd on port 21 of the lab, so `ftp:///dir/` (this host, default port) reaches it.
      const ftp = await ftpdTree();
      t.after(() => rm(ftp.dir, { recursive: true, force: true }));
      lab.lab.spawnProgram(lab.ns, "vsftpd", VSFTPD, [
        await ftp.configure(21, 30_100),
      ]);
      await lab.reachable(21);
      const site = await makeSite(join(lab.dir, "site"));
      const sIni = await ini(
        lab,
        "server.ini",
        `[uris]\norigin = ${site.inDir}/{name}.dat\ntopic = ${TOPIC}\nrequest_port = ${TS_REQ}\nrequest_address = 127.0.0.1\ndelete = False\n`,
      );
      lab.ours("ts-server", "server", [
        sIni,
        "-p",
        String(TS_PUB),
        "--host",
        "127.0.0.1",
        "--disable-backlog",
        "--state-dir",
        join(lab.dir, "state"),
        "-v",
      ]);
      await lab.reachable(TS_PUB);
      const forms = (kind: string): Record<string, string> => ({
        file: `file://${join(lab.dir, kind, "file")}/`,
        bare: `${join(lab.dir, kind, "bare")}/`,
        ftphost: `ftp://127.0.0.1:21/pub/${kind}-host/`,
        ftpnohost: `ftp:///pub/${kind}-nohost/`,
      });
      const section = (
        name: string,
        destination: string,
        port: number,
      ): string =>
        `[${name}]\nproviders = 127.0.0.1:${TS_PUB}\ndestination = ${destination}\ntopic = ${TOPIC}\npublish_port = ${port}\nnameservers = false\ncreate_target_directory = False\n`;
      // Local directories made here: with create_target_directory the Python client would also make the ftp paths on this machine's root.
      for (const kind of ["py", "ts"])
        for (const d of ["file", "bare"])
          await mkdir(join(lab.dir, kind, d), { recursive: true });
      const sections = Object.keys(forms("x"));
      // One Python client per form: a Python client takes each uid once over all its sections.
      for (const [i, [name, destination]] of Object.entries(
        forms("py"),
      ).entries()) {
        lab.py(`py-client-${name}`, "move_it_client", [
          "-v",
          await ini(
            lab,
            `py-client-${name}.ini`,
            section(name, destination, CLIENT_PY_PUB + i * 10),
          ),
        ]);
      }
      const ours = Object.entries(forms("ts")).map(([name, destination], i) =>
        section(name, destination, CLIENT_TS_PUB + i * 10),
      );
      lab.ours("ts-client", "client", [
        await ini(lab, "ts-client.ini", ours.join("\n")),
        "--host",
        "127.0.0.1",
        "-v",
      ]);
      const subs = new Map<string, ReturnType<typeof lab.lab.subscribe>>();
      for (const [kind, base] of [
        ["py", CLIENT_PY_PUB],
        ["ts", CLIENT_TS_PUB],
      ] as const) {
        for (const [i, form] of sections.entries()) {
          await lab.reachable(base + i * 10);
          subs.set(
            `${kind}/${form}`,
            lab.lab.subscribe(
              lab.ns,
              `sub-${kind}-${form}`,
              `tcp://127.0.0.1:${base + i * 10}`,
            ),
          );
        }
      }
      const seenEverywhere = (name: string) =>
        [...subs.values()].every((sub) =>
          published(sub, "file").some((m) => uidOf(m) === name),
        );
      await warmUp([site], async (name) => seenEverywhere(name), 2000, 90_000);
      const files = makeFiles("uri", [10, 2000]);
      await drop([site], files);
      for (const [key, sub] of subs)
        await waitPublished(
          sub,
          files.keys(),
          `${key}: a file message for every file`,
          90_000,
        );
      for (const form of sections) {
        for (const name of files.keys()) {
          const uriOf = (kind: string) =>
            published(subs.get(`${kind}/${form}`)!, "file").find(
              (m) => uidOf(m) === name,
            )!.dataObject["uri"];
          const py = String(uriOf("py"));
          const expected = py.replace("/py/", "/ts/").replace("/py-", "/ts-");
          assert.equal(
            uriOf("ts"),
            expected,
            `${form}: our client publishes what the Python client does (${py})`,
          );
        }
      }
    });
  },
);

// Runs Python's own uri builder on [destination, login] pairs (JSON in argv[1]); prints one JSON uri per line.
const MAKE_URIS_SCRIPT = `
import json, sys
from posttroll.message import Message
from trollmoves.client import make_uris
for dest, login in json.loads(sys.argv[1]):
    msg = Message("/t", "file", {"uid": "f.dat", "uri": "/src/f.dat"})
    print(json.dumps(make_uris(msg, dest, login).data["uri"]), flush=True)
`;

// Ours, the same pairs, in the same namespace.
const OUR_URIS_SCRIPT = `
const { publishedBase, publishedUri, buildDestination } = await import(process.argv[1] + "/dist/src/client/destination.js");
const { isThisHost } = await import(process.argv[1] + "/dist/src/util/host.js");
const { parseUrl } = await import(process.argv[1] + "/dist/src/util/url.js");
for (const [dest, login] of JSON.parse(process.argv[2])) {
  const host = parseUrl(dest).hostname;
  const d = { ...buildDestination(dest, { login: login ?? undefined, hostname: "vm" }), published: publishedBase(dest, login ?? undefined, host !== "" && (await isThisHost(host))) };
  console.log(JSON.stringify(publishedUri(d, "/src/f.dat")));
}
`;

test(
  "interop/requests - the uri Python's client builds for remote, scp, sftp, login and s3 destinations, and ours",
  { skip, timeout: 60_000 },
  async (t) => {
    await inLab(t, "requris", async (lab) => {
      const cases: [string, string | null][] = [
        ["file:///data/out/", null],
        ["/data/out/", null],
        ["ftp://127.0.0.1/pub/x/", null],
        ["ftp://localhost/pub/x/", null],
        ["ftp:///pub/x/", "user:pw"],
        ["ftp://10.99.0.2/pub/x/", null],
        ["ftp://10.99.0.2:2121/pub/x/", "user:pw"],
        ["ftp://bob@10.99.0.2/pub/x/", null],
        ["scp://127.0.0.1/data/x/", "user"],
        ["scp://10.99.0.2/data/x/", "user"],
        ["scp:///data/x/", null],
        ["sftp://10.99.0.2:2222/data/x/", null],
        ["sftp://vm/data/x/", "user"],
        ["s3://bucket/prefix/", null],
      ];
      const arg = JSON.stringify(cases);
      const pyScript = await ini(lab, "make_uris.py", MAKE_URIS_SCRIPT);
      const py = lab.py("make-uris", "python", [pyScript, arg]);
      assert.equal(await py.exited, "0", await outputOf(py));
      const pyUris = (await outputOf(py))
        .split("\n")
        .filter((l) => l.startsWith('"'))
        .map((l) => JSON.parse(l) as string);
      const { stdout } = await run(
        "ip",
        [
          "netns",
          "exec",
          lab.ns,
          process.execPath,
          "--input-type=module",
          "-e",
          OUR_URIS_SCRIPT,
          REPO_ROOT,
          arg,
        ],
        { timeout: 30_000 },
      );
      const ours = stdout
        .split("\n")
        .filter((l) => l.startsWith('"'))
        .map((l) => JSON.parse(l) as string);
      assert.equal(
        pyUris.length,
        cases.length,
        `python printed ${pyUris.length} uris (reference at ${referenceDir()})`,
      );
      for (const [i, [dest, login]] of cases.entries())
        assert.equal(ours[i], pyUris[i], `${dest} (login ${String(login)})`);
    });
  },
);
