import assert from "node:assert/strict";
import { ParseError } from "../../util/errors/mod.ts";
import { parseImageConfig, parseManifestDocument, selectPlatform } from "../../oci/manifest.ts";
import { DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST } from "../../oci/media_types.ts";

const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const D = (c: string) => `sha256:${c.repeat(64)}`;
const manifest = {
  schemaVersion: 2,
  mediaType: OCI_MANIFEST,
  config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: D("c"), size: 10 },
  layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: D("1"), size: 5 }],
  annotations: { "org.opencontainers.image.source": "x" },
};

Deno.test("parses a manifest, allowing extension fields", () => {
  const m = parseManifestDocument(enc(manifest), OCI_MANIFEST, "m");
  assert.equal(m.kind, "manifest");
  assert.equal(m.kind === "manifest" && m.layers[0]!.digest, D("1"));
});

Deno.test("tells an OCI index from a manifest when mediaType is omitted", () => {
  const index = {
    schemaVersion: 2,
    manifests: [
      {
        mediaType: OCI_MANIFEST,
        digest: D("a"),
        size: 1,
        platform: { os: "linux", architecture: "arm64", "os.features": ["x"], "os.version": "1" },
      },
      {
        mediaType: OCI_MANIFEST,
        digest: D("b"),
        size: 1,
        platform: { os: "linux", architecture: "amd64", variant: "v3" },
      },
      {
        mediaType: OCI_MANIFEST,
        digest: D("d"),
        size: 1,
        platform: { os: "linux", architecture: "amd64" },
      },
    ],
  };
  const doc = parseManifestDocument(enc(index), undefined, "i");
  assert.equal(doc.kind, "index");
  if (doc.kind !== "index") return;
  assert.equal(doc.mediaType, OCI_INDEX);
  assert.equal(selectPlatform(doc, { os: "linux", architecture: "amd64" })?.digest, D("d"));
  assert.equal(
    selectPlatform(doc, { os: "linux", architecture: "amd64", variant: "v3" })?.digest,
    D("b"),
  );
  assert.equal(selectPlatform(doc, { os: "windows", architecture: "amd64" }), undefined);
  const withArtifacts = parseManifestDocument(
    enc({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        {
          mediaType: "application/vnd.example.chart",
          digest: D("e"),
          size: 1,
          platform: { os: "linux", architecture: "amd64" },
        },
        index.manifests[2],
      ],
    }),
    undefined,
    "i",
  );
  assert.equal(withArtifacts.kind, "index");
  assert.equal(
    withArtifacts.kind === "index" &&
      selectPlatform(withArtifacts, { os: "linux", architecture: "amd64" })?.digest,
    D("d"),
    "other artifacts in an index are listed but never selected",
  );
});

Deno.test("rejects malformed manifests with every problem and its path", () => {
  const bad: [unknown, string | undefined, RegExp][] = [
    [{ ...manifest, schemaVersion: 1 }, undefined, /schemaVersion 1/],
    [
      { ...manifest, mediaType: "application/vnd.docker.distribution.manifest.v1+json" },
      undefined,
      /unsupported manifest media type/,
    ],
    [manifest, DOCKER_MANIFEST, /contradicts/],
    [{ ...manifest, config: undefined }, undefined, /config: required field is missing/],
    [
      { ...manifest, layers: [{ ...manifest.layers[0], digest: "sha256:zz" }] },
      undefined,
      /layers\[0\]\.digest: invalid digest/,
    ],
    [
      { ...manifest, layers: [{ ...manifest.layers[0], mediaType: "text/plain" }] },
      undefined,
      /layers\[0\]\.mediaType: unsupported media type/,
    ],
    [
      { ...manifest, layers: [{ ...manifest.layers[0], size: -1 }] },
      undefined,
      /layers\[0\]\.size/,
    ],
    [[1, 2], undefined, /expected an object/],
    [{ ...manifest, manifests: [] }, undefined, /ambiguous document/],
    [{ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [], layers: [] }, undefined, /ambiguous/],
  ];
  for (const [doc, type, reason] of bad) {
    assert.throws(
      () => parseManifestDocument(enc(doc), type, "manifest of app"),
      (e: unknown) =>
        e instanceof ParseError && e.field === "manifest of app" && reason.test(e.reason),
      String(reason),
    );
  }
  assert.throws(
    () => parseManifestDocument(new TextEncoder().encode("{"), undefined, "m"),
    /not valid JSON/,
  );
  assert.throws(
    () => parseManifestDocument(new Uint8Array(5 * 1024 * 1024), undefined, "m"),
    /larger than/,
  );
});

Deno.test("parses image config process fields, defaulting absent ones", () => {
  const full = parseImageConfig(
    enc({
      os: "linux",
      architecture: "amd64",
      config: {
        Entrypoint: ["/e"],
        Cmd: null,
        Env: ["A=1"],
        User: "1000:1000",
        WorkingDir: "/w",
        Labels: {},
      },
      rootfs: { type: "layers", diff_ids: [D("1")] },
      history: [],
    }),
    "config",
  );
  assert.deepEqual(full.process, {
    entrypoint: ["/e"],
    cmd: [],
    env: ["A=1"],
    workingDir: "/w",
    user: "1000:1000",
  });
  assert.deepEqual(full.diffIds, [D("1")]);
  const bare = parseImageConfig(
    enc({ os: "linux", architecture: "amd64", rootfs: { type: "layers", diff_ids: [] } }),
    "c",
  );
  assert.deepEqual(bare.process, { entrypoint: [], cmd: [], env: [], workingDir: "", user: "" });
});

Deno.test("rejects image configs with mistyped fields", () => {
  const bad: [unknown, RegExp][] = [
    [{
      os: "linux",
      architecture: "amd64",
      config: { Cmd: "sh" },
      rootfs: { type: "layers", diff_ids: [] },
    }, /config\.Cmd: expected an array/],
    [{
      os: "linux",
      architecture: "amd64",
      config: { Env: [1] },
      rootfs: { type: "layers", diff_ids: [] },
    }, /config\.Env\[0\]: expected a string/],
    [
      { os: "linux", config: {}, rootfs: { type: "layers", diff_ids: [] } },
      /architecture: required/,
    ],
    [
      { os: "linux", architecture: "amd64", rootfs: { type: "other", diff_ids: [] } },
      /rootfs\.type/,
    ],
    [{ os: "linux", architecture: "amd64" }, /rootfs: required/],
  ];
  for (const [doc, reason] of bad) {
    assert.throws(
      () => parseImageConfig(enc(doc), "config of app"),
      (e: unknown) => e instanceof ParseError && reason.test(e.reason),
      String(reason),
    );
  }
});

Deno.test("image documents whose keys containerd would read differently are refused, naming the key", () => {
  // containerd decodes with Go's encoding/json: struct fields match case-insensitively (with
  // Unicode folding: "ſ" is "s", the Kelvin sign "K" is "k") and the last duplicate wins;
  // JSON.parse kept "User": "1000" while containerd took "user": "0".
  const text = (s: string) => new TextEncoder().encode(s);
  const rootfs = `"rootfs":{"type":"layers","diff_ids":[]}`;
  const configs: [string, RegExp][] = [
    [
      `{"os":"linux","architecture":"amd64",${rootfs},"config":{"User":"1000","user":"0"}}`,
      /config\.user: .*"User"/,
    ],
    [
      `{"os":"linux","architecture":"amd64",${rootfs},"config":{"User":"1000","User":"0"}}`,
      /config\.User: duplicate/,
    ],
    [
      `{"os":"linux","architecture":"amd64",${rootfs},"config":{"Uſer":"0"}}`,
      /config\."Uſer": .*"User"/,
    ],
    [
      `{"os":"linux","architecture":"amd64",${rootfs},"config":{"Env":[],"ENV":["A=1"]}}`,
      /config\.ENV: .*"Env"/,
    ],
    [`{"os":"linux","architecture":"amd64",${rootfs},"Config":{"User":"0"}}`, /Config: .*"config"/],
    [
      `{"os":"linux","architecture":"amd64","rootfs":{"type":"layers","diff_ids":[],"Diff_IDs":[]}}`,
      /rootfs\.Diff_IDs: .*"diff_ids"/,
    ],
  ];
  for (const [doc, pattern] of configs) {
    assert.throws(
      () => parseImageConfig(text(doc), "config of app:v1"),
      (e: unknown) =>
        e instanceof ParseError && e.field === "config of app:v1" && pattern.test(e.reason),
      doc,
    );
  }
  const layer = `{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"${
    D("1")
  }","size":1}`;
  const cfg = `"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"${
    D("c")
  }","size":1}`;
  const manifests: [string, RegExp][] = [
    [`{"schemaVersion":2,${cfg},"layers":[],"Layers":[${layer}]}`, /Layers: .*"layers"/],
    [
      `{"schemaVersion":2,${cfg},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"${
        D("1")
      }","size":1,"Digest":"${D("2")}"}]}`,
      /layers\[0\]\.Digest: .*"digest"/,
    ],
    [`{"schemaVersion":2,${cfg},"layers":[${layer}],"layers":[]}`, /layers: duplicate/],
  ];
  for (const [doc, pattern] of manifests) {
    assert.throws(
      () => parseManifestDocument(text(doc), OCI_MANIFEST, "manifest of app:v1"),
      (e: unknown) =>
        e instanceof ParseError && e.field === "manifest of app:v1" && pattern.test(e.reason),
      doc,
    );
  }
  // Maps keep their keys exactly: labels and annotations differing in case are fine.
  const ok = parseImageConfig(
    text(
      `{"os":"linux","architecture":"amd64",${rootfs},"config":{"User":"1","Labels":{"a":"1","A":"2"},"Volumes":{"/d":{},"/D":{}}}}`,
    ),
    "c",
  );
  assert.deepEqual(ok.process.volumes, ["/D", "/d"]);
});
