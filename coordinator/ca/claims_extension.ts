/**
 * The attestation claims a mesh leaf certificate carries, as one non-critical X.509 extension:
 * OID `1.3.9901.2.1` for SNP evidence, `1.3.9901.2.2` for TDX evidence (DESIGN.md). The
 * extension value is the DER of
 *
 * ```asn1
 * ContrastAttestationClaims ::= SEQUENCE {
 *   version              INTEGER (1),
 *   hostData             OCTET STRING,  -- SNP HOST_DATA (32) / TDX MRCONFIGID (48)
 *   measurement          OCTET STRING,  -- SNP MEASUREMENT / TDX MRTD (48)
 *   reportData           OCTET STRING,  -- the 64 bytes of report data
 *   referenceValueIndex  INTEGER,       -- the manifest reference-value entry that matched
 *   details              SEQUENCE OF SEQUENCE { name UTF8String, value UTF8String }
 *                                       -- sorted by name, names unique
 * }
 * ```
 *
 * A peer reading a mesh certificate learns which hardware claims the Coordinator verified
 * before issuing it.
 *
 * @module
 */
import { ParseError } from "../../util/errors/mod.ts";
import type { AttestationClaims, TeePlatform } from "../../evidence/types.ts";
import { derOctetString, DerReader, derSequence, derUnsigned, derUtf8 } from "./der.ts";

/** Extension OID of SNP claims. */
export const OID_SNP_CLAIMS = "1.3.9901.2.1";
/** Extension OID of TDX claims. */
export const OID_TDX_CLAIMS = "1.3.9901.2.2";

/** The extension OID of a platform's claims. */
export function claimsExtensionOid(platform: TeePlatform): string {
  return platform === "snp" ? OID_SNP_CLAIMS : OID_TDX_CLAIMS;
}

/** The DER extension value of `claims`. */
export function encodeClaimsExtension(claims: AttestationClaims): Uint8Array {
  const names = Object.keys(claims.details).sort();
  return derSequence([
    derUnsigned(1),
    derOctetString(claims.hostData),
    derOctetString(claims.measurement),
    derOctetString(claims.reportData),
    derUnsigned(claims.referenceValueIndex),
    derSequence(names.map((n) => derSequence([derUtf8(n), derUtf8(claims.details[n]!)]))),
  ]);
}

/**
 * Decodes a claims extension value.
 *
 * @param oid the extension's OID, selecting the platform
 * @throws {ParseError} naming the field when the value is malformed
 */
export function decodeClaimsExtension(oid: string, value: Uint8Array): AttestationClaims {
  let platform: TeePlatform;
  if (oid === OID_SNP_CLAIMS) platform = "snp";
  else if (oid === OID_TDX_CLAIMS) platform = "tdx";
  else throw new ParseError("extension", `not a claims extension OID: ${oid}`);
  const outer = new DerReader(value, "claims");
  const seq = outer.sequence("ContrastAttestationClaims");
  outer.finish();
  const version = seq.unsigned("version");
  if (version !== 1) throw new ParseError("claims.version", `unsupported version ${version}`);
  const hostData = seq.octetString("hostData");
  const measurement = seq.octetString("measurement");
  const reportData = seq.octetString("reportData");
  const referenceValueIndex = seq.unsigned("referenceValueIndex");
  const detailsReader = seq.sequence("details");
  seq.finish();
  const details: Record<string, string> = {};
  let previous: string | undefined;
  while (!detailsReader.done) {
    const pair = detailsReader.sequence("detail");
    const name = pair.utf8("name");
    const text = pair.utf8("value");
    pair.finish();
    if (previous !== undefined && name <= previous) {
      throw new ParseError("claims.details", "names must be unique and sorted");
    }
    previous = name;
    details[name] = text;
  }
  return { platform, hostData, measurement, reportData, referenceValueIndex, details };
}
