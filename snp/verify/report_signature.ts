/**
 * The report signature: ECDSA P-384 with SHA-384 over bytes 0x000–0x29F, R and S stored as
 * 72-byte little-endian fields.
 *
 * @module
 */
import { VerificationError } from "../../util/errors/mod.ts";
import type { Certificate } from "../../x509/certificate.ts";
import { SNP_SIGNED_LENGTH, type SnpReport } from "../abi/report.ts";

const SCALAR = 48;

/** R ‖ S big-endian (96 bytes), as WebCrypto wants them, from the report's little-endian fields. */
export function reportSignatureRaw(report: SnpReport): Uint8Array {
  const out = new Uint8Array(2 * SCALAR);
  const { r, s } = report.signature;
  // Byte-reversed in place of slice().reverse(): no intermediate copies per verification.
  for (let i = 0; i < SCALAR; i++) {
    out[SCALAR - 1 - i] = r[i]!;
    out[2 * SCALAR - 1 - i] = s[i]!;
  }
  return out;
}

/**
 * Imports the P-384 public key of a VCEK/VLEK certificate for report verification.
 *
 * @throws {VerificationError} naming `field` when the key is not an EC P-384 key
 */
export async function importVekKey(vek: Certificate, field = "vek"): Promise<CryptoKey> {
  const key = vek.publicKey;
  if (key.kind !== "ec" || key.curve !== "P-384") {
    throw new VerificationError(
      `${field}.subjectPublicKeyInfo`,
      `expected an EC P-384 key, got ${key.kind === "ec" ? key.curve : key.kind}`,
    );
  }
  try {
    return await crypto.subtle.importKey(
      "spki",
      key.spki as Uint8Array<ArrayBuffer>,
      { name: "ECDSA", namedCurve: "P-384" },
      false,
      ["verify"],
    );
  } catch (e) {
    throw new VerificationError(`${field}.subjectPublicKeyInfo`, "not a valid P-384 key", {
      cause: e,
    });
  }
}

/**
 * Checks the report's signature with the VCEK/VLEK public key `key`.
 *
 * @throws {VerificationError} on `report.signature` when it does not verify
 *
 * @example Check the report's signature with the VCEK's public key
 * ```ts
 * import { parseSnpReport, verifyReportSignature } from "../mod.ts";
 *
 * async function check(bytes: Uint8Array, vcekKey: CryptoKey): Promise<void> {
 *   await verifyReportSignature(parseSnpReport(bytes), vcekKey); // throws VerificationError
 * }
 * ```
 */
export async function verifyReportSignature(report: SnpReport, key: CryptoKey): Promise<void> {
  const ok = await crypto.subtle.verify(
    { name: "ECDSA", hash: "SHA-384" },
    key,
    reportSignatureRaw(report) as Uint8Array<ArrayBuffer>,
    report.raw.subarray(0, SNP_SIGNED_LENGTH) as Uint8Array<ArrayBuffer>,
  );
  if (!ok) {
    throw new VerificationError(
      "report.signature",
      `the ${report.signerInfo.signingKey} did not sign this report (bytes 0x000–0x29F)`,
    );
  }
}
