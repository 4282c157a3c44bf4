import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import assert from "node:assert/strict";
import { AsnConvert } from "@peculiar/asn1-schema";
import { Certificate } from "@peculiar/asn1-x509";
import { p384 } from "@noble/curves/nist.js";
import { ParseError } from "../../../util/errors/mod.ts";
import type { AttestationClaims } from "../../../evidence/types.ts";
import {
  CertificateAuthority,
  createRootCertificate,
} from "../../../coordinator/ca/certificate_authority.ts";
import {
  decodeClaimsExtension,
  OID_SNP_CLAIMS,
  OID_TDX_CLAIMS,
} from "../../../protocol/claims_extension.ts";
import { SeedEngine } from "../../../seed/seed_engine.ts";
import { classifySan, type SubjectAltName } from "../../../manifest/sans.ts";
import { readEcdsaPublicKey } from "../../../manifest/public_keys.ts";

const SEED = new Uint8Array(64).fill(7);
const SALT = new Uint8Array(32).fill(9);

function sans(...names: string[]): SubjectAltName[] {
  return names.map((n) => {
    const s = classifySan(n);
    if ("error" in s) throw new Error(s.error);
    return s;
  });
}

const CLAIMS: AttestationClaims = {
  platform: "snp",
  reportData: new Uint8Array(64).fill(1),
  hostData: new Uint8Array(32).fill(2),
  measurement: new Uint8Array(48).fill(3),
  referenceValueIndex: 0,
  details: { "tcb.snp": "23", "chip_id": "ab".repeat(64) },
};

async function podKey(): Promise<CryptoKeyPair> {
  return await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
}

async function openssl(args: string[], files: Record<string, string>) {
  const dir = await Deno.makeTempDir({ prefix: "contrast-ca-" });
  try {
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
    }
    const out = await new Deno.Command("openssl", {
      args,
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    return {
      ok: out.success,
      text: new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const NOW = new Date("2026-06-01T00:00:00Z");

Deno.test("openssl verify accepts the leaf through the intermediate to the root, and via the mesh CA", async () => {
  const ca = await CertificateAuthority.fromSeed(SeedEngine.fromSeed(SEED, SALT));
  const pod = await podKey();
  const leaf = await ca.issueLeaf({
    publicKey: pod.publicKey,
    sans: sans("10.0.0.1", "spiffe://contrast/web", "web.default.svc", "::1", "*", "*.svc"),
    claims: CLAIMS,
  });
  const viaRoot = await openssl(
    [
      "verify",
      "-x509_strict",
      "-purpose",
      "sslserver",
      "-CAfile",
      "root.pem",
      "-untrusted",
      "inter.pem",
      "leaf.pem",
    ],
    { "root.pem": ca.rootPem, "inter.pem": ca.intermediatePem, "leaf.pem": leaf.pem },
  );
  assert.ok(viaRoot.ok, viaRoot.text);
  for (
    const [flag, value] of [["-verify_ip", "10.0.0.1"], ["-verify_ip", "::1"], [
      "-verify_hostname",
      "web.default.svc",
    ]]
  ) {
    const named = await openssl(
      ["verify", flag!, value!, "-CAfile", "mesh.pem", "leaf.pem"],
      { "mesh.pem": ca.meshCaPem, "leaf.pem": leaf.pem },
    );
    assert.ok(named.ok, `${flag} ${value}: ${named.text}`);
  }
  for (
    const [flag, value] of [["-verify_ip", "10.0.0.2"], ["-verify_hostname", "evil.example.com"]]
  ) {
    const named = await openssl(
      ["verify", flag!, value!, "-CAfile", "mesh.pem", "leaf.pem"],
      { "mesh.pem": ca.meshCaPem, "leaf.pem": leaf.pem },
    );
    assert.equal(named.ok, false, `${flag} ${value} must not match`);
  }
  const client = await openssl(
    ["verify", "-x509_strict", "-purpose", "sslclient", "-CAfile", "mesh.pem", "leaf.pem"],
    { "mesh.pem": ca.meshCaPem, "leaf.pem": leaf.pem },
  );
  assert.ok(client.ok, client.text);
  const chain = await openssl(
    ["verify", "-CAfile", "root.pem", "-untrusted", "chain.pem", "chain.pem"],
    { "root.pem": ca.rootPem, "chain.pem": leaf.chainPem },
  );
  assert.ok(chain.ok, chain.text);
});

/** `openssl verify` of `leafPem` through the untrusted `intermediatePem` to `rootPem`. */
function opensslVerifyLeaf(rootPem: string, intermediatePem: string, leafPem: string) {
  return openssl(
    ["verify", "-CAfile", "root.pem", "-untrusted", "inter.pem", "leaf.pem"],
    { "root.pem": rootPem, "inter.pem": intermediatePem, "leaf.pem": leafPem },
  );
}

Deno.test("openssl verify rejects a leaf against another seed's root", async () => {
  const ca = await CertificateAuthority.fromSeed(SeedEngine.fromSeed(SEED, SALT));
  const other = await CertificateAuthority.fromSeed(SeedEngine.create());
  const leaf = await ca.issueLeaf({
    publicKey: (await podKey()).publicKey,
    sans: sans("a"),
    claims: CLAIMS,
  });
  const result = await opensslVerifyLeaf(other.rootPem, ca.intermediatePem, leaf.pem);
  assert.equal(result.ok, false);
  const stale = await openssl(
    ["verify", "-CAfile", "mesh.pem", "leaf.pem"],
    { "mesh.pem": (await ca.rotateMeshCa()).meshCaPem, "leaf.pem": leaf.pem },
  );
  assert.equal(stale.ok, false, "a rotated mesh CA must not verify leaves of the previous one");
});

Deno.test("leaves of the seed-derived mesh CA (forTransition, signed in-thread) verify via the mesh CA and the root, not another transition's", async () => {
  const engine = SeedEngine.fromSeed(SEED, SALT);
  const ca = await CertificateAuthority.forTransition(engine, new Uint8Array(32).fill(1));
  const other = await CertificateAuthority.forTransition(engine, new Uint8Array(32).fill(2));
  const leaf = await ca.issueLeaf({
    publicKey: (await podKey()).publicKey,
    sans: sans("web"),
    claims: CLAIMS,
  });
  const viaRoot = await opensslVerifyLeaf(ca.rootPem, ca.intermediatePem, leaf.pem);
  assert.ok(viaRoot.ok, viaRoot.text);
  const viaMesh = await openssl(["verify", "-CAfile", "mesh.pem", "leaf.pem"], {
    "mesh.pem": ca.meshCaPem,
    "leaf.pem": leaf.pem,
  });
  assert.ok(viaMesh.ok, viaMesh.text);
  const foreign = await openssl(["verify", "-CAfile", "mesh.pem", "leaf.pem"], {
    "mesh.pem": other.meshCaPem,
    "leaf.pem": leaf.pem,
  });
  assert.equal(foreign.ok, false, "another transition's mesh CA must not verify this leaf");
});

Deno.test("root certificate is byte-identical for the same seed and differs for another seed", async () => {
  const a = await CertificateAuthority.fromSeed(SeedEngine.fromSeed(SEED, SALT), NOW);
  const b = await CertificateAuthority.fromSeed(SeedEngine.fromSeed(SEED, SALT));
  assert.equal(a.rootPem, b.rootPem);
  assert.notEqual(a.meshCaPem, b.meshCaPem, "mesh CA key must be fresh per CA");
  const c = await CertificateAuthority.fromSeed(SeedEngine.fromSeed(SEED, new Uint8Array(32)));
  assert.notEqual(a.rootPem, c.rootPem);
  // The byte-stable root verifies under its own key (the deterministic signature is valid).
  assert.ok(await a.root.verify({ publicKey: a.root.publicKey, signatureOnly: true }));
  // Its signature is a real signature over the TBS: flipping a TBS byte breaks it.
  const asn = AsnConvert.parse(a.root.rawData, Certificate);
  asn.tbsCertificate.serialNumber = new Uint8Array([1, 2, 3]).buffer;
  const tampered = new x509.X509Certificate(AsnConvert.serialize(asn));
  assert.equal(await tampered.verify({ publicKey: a.root.publicKey, signatureOnly: true }), false);
});

Deno.test("an old root PEM verifies chains issued after a restart", async () => {
  const before = await CertificateAuthority.fromSeed(SeedEngine.fromSeed(SEED, SALT));
  const after = await CertificateAuthority.fromSeed(SeedEngine.fromSeed(SEED, SALT));
  const leaf = await after.issueLeaf({
    publicKey: (await podKey()).publicKey,
    sans: sans("x"),
    claims: CLAIMS,
  });
  const result = await opensslVerifyLeaf(before.rootPem, after.intermediatePem, leaf.pem);
  assert.ok(result.ok, result.text);
});

Deno.test("root signature is deterministic ECDSA P-384 SHA-384 that noble verifies", async () => {
  const engine = SeedEngine.fromSeed(SEED, SALT);
  const key = await engine.derivedRootCaKey();
  const root = await createRootCertificate(key);
  const asn = AsnConvert.parse(root.rawData, Certificate);
  const tbs = new Uint8Array(AsnConvert.serialize(asn.tbsCertificate));
  assert.ok(
    p384.verify(new Uint8Array(asn.signatureValue), tbs, key.publicKeyRaw, {
      format: "der",
      lowS: false,
    }),
  );
});

Deno.test("leaf carries SANs by kind, client+server auth, one year, and the claims extension", async () => {
  const ca = await CertificateAuthority.fromSeed(SeedEngine.fromSeed(SEED, SALT));
  const pod = await podKey();
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pod.publicKey));
  const leaf = await ca.issueLeaf({
    publicKey: spki,
    sans: sans("192.168.1.2", "https://web.example/x", "*.web.svc"),
    claims: CLAIMS,
    now: NOW,
  });
  const cert = leaf.certificate;
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension)!;
  assert.deepEqual(
    san.names.items.map((n) => [n.type, n.value]),
    [["ip", "192.168.1.2"], ["url", "https://web.example/x"], ["dns", "*.web.svc"]],
  );
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension)!;
  assert.deepEqual([...eku.usages], [
    x509.ExtendedKeyUsage.serverAuth,
    x509.ExtendedKeyUsage.clientAuth,
  ]);
  assert.equal(cert.getExtension(x509.BasicConstraintsExtension)!.ca, false);
  assert.equal(cert.notAfter.getTime() - NOW.getTime(), 365 * 24 * 3600 * 1000);
  assert.ok(cert.notBefore.getTime() <= NOW.getTime());
  assert.deepEqual(new Uint8Array(cert.publicKey.rawData), spki);
  const ext = cert.extensions.find((e) => e.type === OID_SNP_CLAIMS)!;
  assert.equal(ext.critical, false);
  const decoded = decodeClaimsExtension(ext.type, new Uint8Array(ext.value));
  assert.deepEqual(decoded, CLAIMS);
  assert.ok(await cert.verify({ publicKey: ca.meshCa.publicKey, signatureOnly: true }));
});

Deno.test("TDX claims go under OID 1.3.9901.2.2", async () => {
  const ca = await CertificateAuthority.fromSeed(SeedEngine.fromSeed(SEED, SALT));
  const claims: AttestationClaims = {
    ...CLAIMS,
    platform: "tdx",
    hostData: new Uint8Array(48).fill(5),
  };
  const leaf = await ca.issueLeaf({
    publicKey: (await podKey()).publicKey,
    sans: sans("a"),
    claims,
  });
  const ext = leaf.certificate.extensions.find((e) => e.type === OID_TDX_CLAIMS)!;
  assert.deepEqual(decodeClaimsExtension(ext.type, new Uint8Array(ext.value)), claims);
  assert.equal(leaf.certificate.extensions.some((e) => e.type === OID_SNP_CLAIMS), false);
});

Deno.test("issueLeaf rejects a P-384 pod key, a non-key, no SANs and notAfter before now", async () => {
  const ca = await CertificateAuthority.fromSeed(SeedEngine.fromSeed(SEED, SALT));
  const p384Key = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, [
    "sign",
  ]) as CryptoKeyPair;
  await assert.rejects(
    ca.issueLeaf({ publicKey: p384Key.publicKey, sans: sans("a"), claims: CLAIMS }),
    (e) => e instanceof ParseError && e.field === "publicKey",
  );
  const p384Spki = new Uint8Array(await crypto.subtle.exportKey("spki", p384Key.publicKey));
  await assert.rejects(
    ca.issueLeaf({ publicKey: p384Spki, sans: sans("a"), claims: CLAIMS }),
    (e) => e instanceof ParseError && e.field === "publicKey" && /P-256/.test(e.message),
  );
  await assert.rejects(
    ca.issueLeaf({ publicKey: new Uint8Array([1, 2, 3]), sans: sans("a"), claims: CLAIMS }),
    (e) => e instanceof ParseError && e.field === "publicKey",
  );
  const pod = await podKey();
  // A well-formed P-256 SPKI whose point is off the curve (last byte of y changed).
  const offCurve = new Uint8Array(await crypto.subtle.exportKey("spki", pod.publicKey));
  offCurve[offCurve.length - 1]! ^= 1;
  await assert.rejects(
    ca.issueLeaf({ publicKey: offCurve, sans: sans("a"), claims: CLAIMS }),
    (e) =>
      e instanceof ParseError && e.field === "publicKey" && /not a point on P-256/.test(e.message),
  );
  await assert.rejects(
    ca.issueLeaf({ publicKey: pod.publicKey, sans: [], claims: CLAIMS }),
    (e) => e instanceof ParseError && e.field === "sans",
  );
  await assert.rejects(
    ca.issueLeaf({
      publicKey: pod.publicKey,
      sans: sans("a"),
      claims: CLAIMS,
      now: NOW,
      notAfter: NOW,
    }),
    (e) => e instanceof ParseError && e.field === "notAfter",
  );
  await assert.rejects(
    ca.issueLeaf({ publicKey: pod.privateKey, sans: sans("a"), claims: CLAIMS }),
    (e) => e instanceof ParseError && e.field === "publicKey",
  );
});

Deno.test("issueLeaf takes a pod's SPKI bytes exactly when the general SPKI parser reads a P-256 key on the curve: every byte changed", async () => {
  const ca = await CertificateAuthority.fromSeed(SeedEngine.fromSeed(SEED, SALT));
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", (await podKey()).publicKey));
  const p384Spki = new Uint8Array(
    await crypto.subtle.exportKey(
      "spki",
      (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, [
        "sign",
      ]) as CryptoKeyPair).publicKey,
    ),
  );
  const variants = [spki, p384Spki, spki.subarray(0, 90), new Uint8Array([...spki, 0])];
  for (let i = 0; i < spki.length; i++) {
    for (const flip of [0x01, 0x80]) {
      const changed = spki.slice();
      changed[i]! ^= flip;
      variants.push(changed);
    }
  }
  let accepted = 0;
  for (const variant of variants) {
    const general = readEcdsaPublicKey(variant);
    const expected = !("error" in general) && general.curve === "P-256";
    const got = await ca.issueLeaf({ publicKey: variant, sans: sans("a"), claims: CLAIMS }).then(
      (leaf) => {
        assert.deepEqual(new Uint8Array(leaf.certificate.publicKey.rawData), variant);
        return true;
      },
      (e) => {
        assert.ok(e instanceof ParseError && e.field === "publicKey", String(e));
        if (!("error" in general)) assert.match(e.message, /expected a P-256 key/);
        else assert.ok(e.message.includes(general.error), `${e.message} / ${general.error}`);
        return false;
      },
    );
    assert.equal(got, expected, `variant ${variants.indexOf(variant)}`);
    if (got) accepted++;
  }
  // The unchanged key; a changed byte is never another valid encoding of a P-256 key on the curve.
  assert.equal(accepted, 1);
});
