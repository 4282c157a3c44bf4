/**
 * The per-attestation crypto bound every Coordinator benchmark divides by: one ECDSA P-384
 * verification of an SNP report (WebCrypto, public key imported from SPKI as the Coordinator
 * imports a VCEK's) and one P-384 signature of a leaf by the Coordinator's own signer
 * (`seed/p384_signer.ts`). One fixture and one timed step, shared by `scripts/load_test.ts` and
 * `bench/coordinator_floor/`, so the benchmarks cannot drift apart in what "the bound" means.
 *
 * @module
 */
import { type P384Signer, p384Signer } from "../../seed/p384_signer.ts";

const P384 = { name: "ECDSA", namedCurve: "P-384" } as const;
const SHA384 = { name: "ECDSA", hash: "SHA-384" } as const;

/** The keys and inputs of the per-attestation crypto bound, prepared once. */
export interface BoundFixture {
  /** The report-signing key's public half, imported from SPKI like a VCEK's from its certificate. */
  readonly vcekPublic: CryptoKey;
  /** The mesh CA key as the Coordinator signs leaves with it (`seed/p384_signer.ts`). */
  readonly meshSigner: P384Signer;
  /** The same key imported into WebCrypto from JWK (the bound's signature before round 8). */
  readonly meshPrivate: CryptoKey;
  /** A report-sized message, signed by the report key as {@link signature}. */
  readonly report: Uint8Array<ArrayBuffer>;
  /** The report key's signature over {@link report}. */
  readonly signature: ArrayBuffer;
  /** A leaf-sized to-be-signed part. */
  readonly tbs: Uint8Array<ArrayBuffer>;
}

/**
 * Keys in the form the Coordinator holds them. The public key must be imported: Deno's WebCrypto
 * verifies with a *generated* key pair's public key by deriving it from the private key on every
 * call (~2.1 ms against ~1.0 ms for an imported P-384 key, measured), and the Coordinator
 * verifies reports with the VCEK key imported from its certificate (`snp/verify/report_signature.ts`).
 * The signing key is parsed once by the Coordinator's own signer, whose signature is checked here
 * (untimed) so the bound never times a broken path.
 *
 * @example Prepare the bound and time one step of it
 * ```ts
 * import { boundFixture, boundStep } from "./crypto_bound.ts";
 *
 * const fixture = await boundFixture();
 * const start = performance.now();
 * await boundStep(fixture);
 * console.log(`one verify + one sign: ${(performance.now() - start).toFixed(2)} ms`);
 * ```
 */
export async function boundFixture(): Promise<BoundFixture> {
  const vcek = await crypto.subtle.generateKey(P384, true, ["sign", "verify"]) as CryptoKeyPair;
  const mesh = await crypto.subtle.generateKey(P384, true, ["sign", "verify"]) as CryptoKeyPair;
  const vcekPublic = await crypto.subtle.importKey(
    "spki",
    await crypto.subtle.exportKey("spki", vcek.publicKey),
    P384,
    false,
    ["verify"],
  );
  const meshJwk = await crypto.subtle.exportKey("jwk", mesh.privateKey);
  const meshPrivate = await crypto.subtle.importKey("jwk", meshJwk, P384, false, ["sign"]);
  const meshSigner = p384Signer(meshJwk);
  const report = crypto.getRandomValues(new Uint8Array(672));
  const signature = await crypto.subtle.sign(SHA384, vcek.privateKey, report);
  const tbs = crypto.getRandomValues(new Uint8Array(700));
  if (!await crypto.subtle.verify(SHA384, mesh.publicKey, meshSigner(tbs), tbs)) {
    throw new Error("bound: the Coordinator's signer made a signature that does not verify");
  }
  return { vcekPublic, meshSigner, meshPrivate, report, signature, tbs };
}

/**
 * The bound's verification half: the report signature checked as the Coordinator checks it.
 *
 * @throws {Error} when it does not verify, so a benchmark never times a rejection path
 * @example Check the report of a fixture
 * ```ts
 * import { boundFixture, verifyBoundReport } from "./crypto_bound.ts";
 *
 * await verifyBoundReport(await boundFixture());
 * ```
 */
export async function verifyBoundReport(f: BoundFixture): Promise<void> {
  if (!await crypto.subtle.verify(SHA384, f.vcekPublic, f.signature, f.report)) {
    throw new Error("bound: the report signature does not verify");
  }
}

/**
 * The bound's signing half by WebCrypto (the key pair rebuilt per call): the bound's signature
 * before round 8, kept for comparison with earlier figures.
 *
 * @example Sign the fixture's leaf part with WebCrypto
 * ```ts
 * import { boundFixture, webCryptoBoundSign } from "./crypto_bound.ts";
 *
 * const signature = await webCryptoBoundSign(await boundFixture());
 * console.log(signature.byteLength); // 96
 * ```
 */
export async function webCryptoBoundSign(f: BoundFixture): Promise<ArrayBuffer> {
  return await crypto.subtle.sign(SHA384, f.meshPrivate, f.tbs);
}

/**
 * One step of the bound: one report verification and one leaf signature by the Coordinator's
 * signer.
 *
 * @throws {Error} when the report signature does not verify
 * @example Time ten steps
 * ```ts
 * import { boundFixture, boundStep } from "./crypto_bound.ts";
 *
 * const fixture = await boundFixture();
 * for (let i = 0; i < 10; i++) await boundStep(fixture);
 * ```
 */
export async function boundStep(f: BoundFixture): Promise<void> {
  await verifyBoundReport(f);
  f.meshSigner(f.tbs);
}
