/**
 * Leaf certificate issuance next to the bare signature it contains, in the same run: the gap is
 * the cost of building the certificate (key import, extensions, DER) around one ECDSA P-384
 * signature. Run with `deno bench -A tests/coordinator/ca/issue_leaf_bench.ts`; compare the
 * `issueLeaf` line against the `baseline` line (deno bench prints the ratio).
 */
import { CertificateAuthority } from "../../../coordinator/ca/certificate_authority.ts";
import type { AttestationClaims } from "../../../evidence/types.ts";
import { SeedEngine } from "../../../seed/seed_engine.ts";
import { p384Signer } from "../../../seed/p384_signer.ts";
import {
  encodeLeafTbs,
  encodeSignedCertificate,
  leafTemplate,
} from "../../../coordinator/ca/leaf_der.ts";
import {
  claimsExtensionOidDer,
  claimsExtensionWriter,
} from "../../../protocol/claims_extension.ts";
import { MeshAnswerJson } from "../../../coordinator/mesh_answer.ts";

const ca = await CertificateAuthority.fromSeed(SeedEngine.create());
const pod = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
  "sign",
  "verify",
]) as CryptoKeyPair;
const meshLike = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, [
  "sign",
  "verify",
]) as CryptoKeyPair;
// Leaves are signed in-thread by node:crypto (seed/p384_signer.ts): that is the baseline.
const signLikeLeaf = p384Signer(await crypto.subtle.exportKey("jwk", meshLike.privateKey));
const p256 = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, [
  "sign",
  "verify",
]) as CryptoKeyPair;
const claims: AttestationClaims = {
  platform: "snp",
  reportData: new Uint8Array(64),
  hostData: new Uint8Array(32),
  measurement: new Uint8Array(48),
  referenceValueIndex: 0,
  details: { "tcb.snp": "23", "tcb.microcode": "213" },
};
const tbsSized = new Uint8Array(700);
// What the Coordinator passes: the pod key as SPKI bytes, SNP claims with the verifier's 16
// details (snp/verifier.ts snpDetails), three SANs.
const podSpki = new Uint8Array(await crypto.subtle.exportKey("spki", pod.publicKey));
const tcb = "bootloader=4 tee=0 snp=22 microcode=213";
const snpClaims: AttestationClaims = {
  platform: "snp",
  reportData: new Uint8Array(64).fill(1),
  hostData: new Uint8Array(32).fill(2),
  measurement: new Uint8Array(48).fill(3),
  referenceValueIndex: 0,
  details: {
    version: "3",
    product: "Milan",
    signingKey: "vcek",
    measurement: "03".repeat(48),
    hostData: "02".repeat(32),
    reportData: "01".repeat(64),
    chipId: "ab".repeat(64),
    idKeyDigest: "00".repeat(48),
    policy: "0x30000",
    platformInfo: "0x1",
    vmpl: "0",
    reportedTcb: tcb,
    committedTcb: tcb,
    launchTcb: tcb,
    currentTcb: tcb,
    rootSha256: "cd".repeat(32),
  },
};

Deno.bench({
  name: "bare ECDSA P-384 SHA-384 signature, node:crypto (what signs a leaf)",
  group: "leaf",
  baseline: true,
  fn() {
    signLikeLeaf(tbsSized);
  },
});

Deno.bench({
  name: "bare ECDSA P-384 SHA-384 signature, WebCrypto (what signed leaves before)",
  group: "leaf",
  async fn() {
    await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-384" }, meshLike.privateKey, tbsSized);
  },
});

Deno.bench({
  name: "issueLeaf: P-256 pod key, 3 SANs, claims extension",
  group: "leaf",
  async fn() {
    await ca.issueLeaf({
      publicKey: pod.publicKey,
      sans: [
        { kind: "dns", value: "web" },
        { kind: "ip", value: "10.0.0.1" },
        { kind: "uri", value: "spiffe://contrast/web" },
      ],
      claims,
    });
  },
});

Deno.bench({
  name: "issueLeaf as the Coordinator calls it: SPKI bytes, 3 SANs, SNP claims (16 details)",
  group: "leaf",
  async fn() {
    await ca.issueLeaf({
      publicKey: podSpki,
      sans: [
        { kind: "dns", value: "web" },
        { kind: "ip", value: "10.0.0.1" },
        { kind: "uri", value: "spiffe://contrast/web" },
      ],
      claims: snpClaims,
    });
  },
});

Deno.bench({
  name: "bare ECDSA P-256 SHA-256 signature",
  group: "leaf",
  async fn() {
    await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, p256.privateKey, tbsSized);
  },
});

// Everything of a mesh leaf's issuance and answer but the signature (a fixed one), so that the
// ~20 µs of encoding are not lost in the signature's noise: the TBSCertificate with the SNP
// claims, the signed certificate, the answer's JSON.
const template = leafTemplate(new Uint8Array(ca.meshCa.rawData), new Uint8Array(0));
const answers = new MeshAnswerJson(ca);
const fixedSignature = crypto.getRandomValues(new Uint8Array(96));
const meshSans = [
  { kind: "dns" as const, value: "web" },
  { kind: "ip" as const, value: "10.0.0.1" },
  { kind: "uri" as const, value: "spiffe://contrast/web" },
];

Deno.bench({
  name: "leaf DER and answer JSON without the signature (SNP claims, 3 SANs)",
  group: "encoding",
  baseline: true,
  fn() {
    const now = Date.now();
    const tbs = encodeLeafTbs(template, {
      serial: crypto.getRandomValues(new Uint8Array(16)).fill(1, 0, 1),
      notBefore: new Date(now - 300_000),
      notAfter: new Date(now + 365 * 86_400_000),
      commonName: "contrast-workload",
      spki: podSpki,
      subjectKeyIdentifier: new Uint8Array(20),
      sans: meshSans,
      claims: { oid: claimsExtensionOidDer("snp"), value: claimsExtensionWriter(snpClaims) },
    });
    answers.encode(encodeSignedCertificate(tbs, fixedSignature));
  },
});
