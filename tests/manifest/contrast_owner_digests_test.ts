// deno-lint-ignore-file no-explicit-any
/**
 * `WorkloadOwnerKeyDigests`, the owner field of older Edgeless Contrast releases
 * (`internal/manifest/manifest.go`: "a list of ECDSA public keys in PKIX DER format, hashed with
 * SHA256 and hex-encoded"; its CLI computes `sha256.Sum256(x509.MarshalPKIXPublicKey(pub))`, its
 * Coordinator compares that digest of the updating client's key): read from manifests shaped as
 * those structs marshal them, enforced for updates (the Coordinator, the owner chain, external
 * signatures), and written back by `contrast generate` for an older Contrast reader.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { createHash, generateKeyPairSync, sign as nodeSign } from "node:crypto";
import { encodeBase64, encodeHex } from "../../util/bytes/mod.ts";
import { InvalidDocumentError } from "../../util/errors/mod.ts";
import { parseManifest } from "../../manifest/manifest.ts";
import { workloadOwnerKeyDigest, workloadOwnersOf } from "../../manifest/workload_owners.ts";
import { GENESIS_TRANSITION, manifestHash, transitionHash } from "../../manifest/hash.ts";
import {
  acceptExternalUpdateSignature,
  authenticateManifestUpdate,
  importWorkloadOwnerKey,
  signManifestUpdate,
} from "../../protocol/signatures.ts";
import { ForbiddenError, UnauthenticatedError } from "../../protocol/errors.ts";
import { verifyOwnerChain } from "../../protocol/owner_chain.ts";
import { parseManifestRequest } from "../../protocol/messages.ts";
import { runCli } from "../../cli/main.ts";
import { deployment, inProcessCoordinator } from "../coordinator/fixture.ts";
import { withTempDir } from "../helpers/temp_dir.ts";
import { METAL_SNP_REFERENCE_FLAGS } from "../helpers/contrast_cli.ts";

type Curve = "P-256" | "P-384" | "P-521";
const NODE_CURVE: Record<Curve, string> = {
  "P-256": "prime256v1",
  "P-384": "secp384r1",
  "P-521": "secp521r1",
};
const NODE_HASH: Record<Curve, string> = {
  "P-256": "sha256",
  "P-384": "sha384",
  "P-521": "sha512",
};

/** An owner key as Go's crypto/x509 encodes it, with the digest Contrast's CLI writes for it. */
function owner(curve: Curve = "P-384") {
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: NODE_CURVE[curve] });
  const spki = new Uint8Array(publicKey.export({ type: "spki", format: "der" }));
  return {
    curve,
    spki,
    digest: createHash("sha256").update(spki).digest("hex"),
    /** `ecdsa.SignASN1` / `openssl dgst -sign`: ASN.1 DER over the curve's hash. */
    signDer: (message: Uint8Array) =>
      new Uint8Array(nodeSign(NODE_HASH[curve], message, { key: privateKey })),
    /** IEEE P1363 (`r ‖ s`), what the Coordinator's request carries. */
    signP1363: (message: Uint8Array) =>
      new Uint8Array(
        nodeSign(NODE_HASH[curve], message, { key: privateKey, dsaEncoding: "ieee-p1363" }),
      ),
  };
}

/** A manifest as the Contrast release with `WorkloadOwnerKeyDigests` marshals its structs. */
function legacyContrastManifest(digests: string[] | null): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(
    {
      Policies: {
        ["a1".repeat(32)]: { SANs: ["coordinator"], Role: "coordinator" },
        ["b2".repeat(32)]: { SANs: ["web", "*"], WorkloadSecretID: "web" },
      },
      ReferenceValues: {
        snp: [{
          ProductName: "Milan",
          TrustedMeasurement: "ab".repeat(48),
          MinimumTCB: { BootloaderVersion: 3, TEEVersion: 0, SNPVersion: 8, MicrocodeVersion: 115 },
          GuestPolicy: { ABIMinor: 0, ABIMajor: 0, SMT: true, MigrateMA: false, Debug: false },
        }],
      },
      WorkloadOwnerKeyDigests: digests,
      SeedshareOwnerPubKeys: null,
    },
    null,
    "  ",
  ));
}

const TRANSITION = new Uint8Array(32).fill(0x5a);

Deno.test("WorkloadOwnerKeyDigests of an older Contrast manifest are read as its owners", async () => {
  const a = owner();
  const m = parseManifest(legacyContrastManifest([a.digest, "AB".repeat(32)]));
  assert.deepEqual(m.WorkloadOwnerPubKeys, []);
  assert.deepEqual(m.WorkloadOwnerKeyDigests, [a.digest, "ab".repeat(32)]); // kept lower-case
  assert.equal(await workloadOwnerKeyDigest(a.spki), a.digest); // Contrast's digest, byte for byte
  assert.deepEqual(parseManifest(legacyContrastManifest(null)).WorkloadOwnerKeyDigests, []);
});

Deno.test("malformed WorkloadOwnerKeyDigests are refused at their JSON path", () => {
  for (
    const [value, path, reason] of [
      [["ab".repeat(31)], "WorkloadOwnerKeyDigests[0]", /64 hex digits/],
      [["zz".repeat(32)], "WorkloadOwnerKeyDigests[0]", /64 hex digits/],
      [[42], "WorkloadOwnerKeyDigests[0]", /number/],
      [["ab".repeat(32), "AB".repeat(32)], "WorkloadOwnerKeyDigests[1]", /duplicate/],
      ["ab".repeat(32), "WorkloadOwnerKeyDigests", /expected an array/],
    ] as const
  ) {
    const bytes = legacyContrastManifest(null);
    const json = JSON.parse(new TextDecoder().decode(bytes));
    json.WorkloadOwnerKeyDigests = value;
    assert.throws(
      () => parseManifest(new TextEncoder().encode(JSON.stringify(json))),
      (e: any) =>
        e instanceof InvalidDocumentError &&
        e.issues.some((i) => i.path === path && reason.test(i.reason)),
      `${JSON.stringify(value)}`,
    );
  }
});

Deno.test("an owner listed by digest authorises updates on every curve, nobody else does", async () => {
  for (const curve of ["P-256", "P-384", "P-521"] as const) {
    const a = owner(curve);
    const owners = { keys: [], keyDigests: ["cd".repeat(32), a.digest] };
    const signer = await authenticateManifestUpdate(owners, TRANSITION, a.signP1363(TRANSITION));
    assert.equal(signer.publicKeyHex, encodeHex(a.spki), curve);
    assert.equal(signer.digestIndex, 1);
    assert.equal(signer.keyIndex, undefined);
    // Another key, a signature over other bytes, a flipped bit: refused.
    const other = owner(curve);
    const refusals = [
      other.signP1363(TRANSITION),
      a.signP1363(new Uint8Array(32)),
      (() => {
        const s = a.signP1363(TRANSITION);
        s[5]! ^= 1;
        return s;
      })(),
    ];
    for (const signature of refusals) {
      await assert.rejects(
        authenticateManifestUpdate(owners, TRANSITION, signature),
        (e: unknown) => e instanceof UnauthenticatedError && e.field === "signature",
      );
    }
  }
  // No owner at all (null digests, no keys): updates are disabled.
  await assert.rejects(
    authenticateManifestUpdate(
      workloadOwnersOf(parseManifest(legacyContrastManifest(null))),
      TRANSITION,
      owner().signP1363(TRANSITION),
    ),
    ForbiddenError,
  );
});

Deno.test("set --signature: a DER signature (openssl, Go) by a digest-listed owner is accepted", async () => {
  const a = owner("P-256");
  const owners = { keys: [], keyDigests: [a.digest] };
  const accepted = await acceptExternalUpdateSignature(
    owners,
    TRANSITION,
    a.signDer(TRANSITION),
    "update.sig",
  );
  assert.equal(accepted.p1363.length, 64);
  assert.equal(accepted.signer.digestIndex, 0);
  await assert.rejects(
    acceptExternalUpdateSignature(owners, TRANSITION, owner("P-256").signDer(TRANSITION), "s"),
    (e: unknown) => e instanceof UnauthenticatedError && e.field === "s",
  );
});

Deno.test("owner chain: a digest-listed owner's links count for the pod that pins its key", async () => {
  const a = owner();
  const first = legacyContrastManifest([a.digest]);
  const t1 = await transitionHash(await manifestHash(first), GENESIS_TRANSITION);
  const keysOf = (bytes: Uint8Array) => workloadOwnersOf(parseManifest(bytes));
  const history = [{ bytes: first, signature: a.signP1363(t1) }];
  const result = await verifyOwnerChain(history, keysOf, [encodeHex(a.spki)]);
  assert.deepEqual(result.pinnedLinks, [0]);
  await assert.rejects(
    verifyOwnerChain(history, keysOf, [encodeHex(owner().spki)]),
    /signed by a workload owner key this pod pins/,
  );
  const foreign = owner();
  await assert.rejects(
    verifyOwnerChain([{ bytes: first, signature: foreign.signP1363(t1) }], keysOf),
    /not signed by a key it lists/,
  );
});

Deno.test({
  name: "Coordinator: a manifest naming its owner only by digest is set and updated by that owner",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const d = await deployment();
    const key = await importWorkloadOwnerKey(d.workloadOwner.pem);
    const digest = await workloadOwnerKeyDigest(key.publicKeyDer);
    const withDigests = (label: string) =>
      d.manifest((m) => {
        m.WorkloadOwnerPubKeys = null;
        m.WorkloadOwnerKeyDigests = [digest];
        (m.Policies as Record<string, any>)[Object.keys(m.Policies as object)[2]!].SANs = [label];
      });
    const request = async (
      bytes: Uint8Array,
      previous: Uint8Array,
      sign: (t: Uint8Array) => Promise<Uint8Array>,
    ) =>
      parseManifestRequest({
        manifest: encodeBase64(bytes),
        policies: [d.coordinator.doc, d.pods.web.doc, d.pods.db.doc].map(encodeBase64),
        previous_transition: encodeHex(previous),
        signature: encodeHex(await sign(await transitionHash(await manifestHash(bytes), previous))),
      });
    const c = await inProcessCoordinator(d);
    try {
      const first = withDigests("db");
      await c.coordinator.setManifest(
        await request(first, GENESIS_TRANSITION, (t) => signManifestUpdate(key, t)),
      );
      assert.equal(c.coordinator.phase, "active");
      const t1 = await transitionHash(await manifestHash(first), GENESIS_TRANSITION);
      const second = withDigests("db-2");
      const stranger = owner();
      await assert.rejects(
        c.coordinator.setManifest(
          await request(second, t1, (t) => Promise.resolve(stranger.signP1363(t))),
        ),
        (e: unknown) => e instanceof UnauthenticatedError,
      );
      await c.coordinator.setManifest(await request(second, t1, (t) => signManifestUpdate(key, t)));
    } finally {
      await c.close();
    }
  },
});

Deno.test("generate keeps WorkloadOwnerKeyDigests for an older Contrast reader (and on request)", () =>
  withTempDir(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/app.yml`,
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
    );
    const { error } = console;
    console.error = () => {};
    try {
      const run = (ws: string, ...extra: string[]) =>
        runCli([
          "generate",
          ...METAL_SNP_REFERENCE_FLAGS,
          ...extra,
          "-w",
          ws,
          `${dir}/app.yml`,
        ]);
      // 1. A workspace whose manifest came from an older Contrast: the field is kept.
      await Deno.mkdir(`${dir}/legacy`);
      await Deno.writeFile(
        `${dir}/legacy/manifest.json`,
        legacyContrastManifest(["ef".repeat(32)]),
      );
      assert.equal(await run(`${dir}/legacy`), 0);
      // 2. A fresh workspace, asked for it explicitly.
      assert.equal(await run(`${dir}/fresh`, "--workload-owner-key-digests"), 0);
      // 3. A fresh workspace without the flag: contrast's own manifest has no such field.
      assert.equal(await run(`${dir}/plain`), 0);
      for (const ws of ["legacy", "fresh"]) {
        const json = JSON.parse(await Deno.readTextFile(`${dir}/${ws}/manifest.json`));
        // As the older Contrast's Go struct reads it: []HexString of SHA-256 over PKIX DER.
        const expected = json.WorkloadOwnerPubKeys.map((hex: string) =>
          createHash("sha256").update(
            Uint8Array.from(hex.match(/../g)!.map((h) => parseInt(h, 16))),
          ).digest("hex")
        ).sort();
        assert.deepEqual(json.WorkloadOwnerKeyDigests, expected, ws);
      }
      const plain = JSON.parse(await Deno.readTextFile(`${dir}/plain/manifest.json`));
      assert.ok(!("WorkloadOwnerKeyDigests" in plain));
    } finally {
      console.error = error;
    }
  }));
