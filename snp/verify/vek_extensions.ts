/**
 * The AMD-specific extensions of VCEK and VLEK certificates (AMD "Versioned Chip Endorsement
 * Key (VCEK) Certificate and KDS Interface Specification", 57230) and their agreement with the
 * report they sign.
 *
 * @module
 */
import { constantTimeEqual, encodeHex } from "../../util/bytes/mod.ts";
import { ParseError, VerificationError } from "../../util/errors/mod.ts";
import type { Certificate } from "../../x509/certificate.ts";
import { readSingle, readSmallInteger, Tag } from "../../x509/der.ts";
import { productFromName, type SnpProductName } from "../abi/product.ts";
import type { SnpReport } from "../abi/report.ts";
import type { SnpTcbParts } from "../abi/tcb.ts";

/** OIDs of the AMD VCEK/VLEK extensions (arc 1.3.6.1.4.1.3704.1). */
export const AMD_VEK_OID = {
  structVersion: "1.3.6.1.4.1.3704.1.1",
  productName: "1.3.6.1.4.1.3704.1.2",
  blSPL: "1.3.6.1.4.1.3704.1.3.1",
  teeSPL: "1.3.6.1.4.1.3704.1.3.2",
  snpSPL: "1.3.6.1.4.1.3704.1.3.3",
  spl4: "1.3.6.1.4.1.3704.1.3.4",
  spl5: "1.3.6.1.4.1.3704.1.3.5",
  spl6: "1.3.6.1.4.1.3704.1.3.6",
  spl7: "1.3.6.1.4.1.3704.1.3.7",
  ucodeSPL: "1.3.6.1.4.1.3704.1.3.8",
  fmcSPL: "1.3.6.1.4.1.3704.1.3.9",
  hwID: "1.3.6.1.4.1.3704.1.4",
  cspID: "1.3.6.1.4.1.3704.1.5",
} as const;

/**
 * Which endorsement key a certificate certifies.
 *
 * @example A VCEK is per chip, a VLEK per cloud provider
 * ```ts
 * import type { VekKind } from "../mod.ts";
 *
 * function perChip(kind: VekKind): boolean {
 *   return kind === "VCEK";
 * }
 * ```
 */
export type VekKind = "VCEK" | "VLEK";

/**
 * The decoded AMD extensions of a VCEK or VLEK.
 *
 * @example The TCB a VCEK was issued for
 * ```ts
 * import type { VekExtensions } from "../mod.ts";
 *
 * function issuedFor(ext: VekExtensions): string {
 *   return `${ext.productName} snp=${ext.tcb.snp} ucode=${ext.tcb.microcode}`;
 * }
 * ```
 */
export interface VekExtensions {
  /** VCEK (has `hwID`) or VLEK (has `cspID`). */
  readonly kind: VekKind;
  /** `structVersion`, when present (0 for Milan/Genoa, 1 with `fmcSPL`). */
  readonly structVersion?: number;
  /** `productName` as written, e.g. `Milan-B0`. */
  readonly productName: string;
  /** The product line of `productName`. */
  readonly product: SnpProductName;
  /** The TCB the key was derived for. */
  readonly tcb: SnpTcbParts;
  /** `hwID`: the chip ID (64 bytes; 8 bytes on Turin). VCEK only. */
  readonly hwId?: Uint8Array;
  /** `cspID`: the cloud provider the VLEK was issued to. VLEK only. */
  readonly cspId?: string;
}

function integerExtension(cert: Certificate, oid: string, name: string): number | undefined {
  const value = cert.extension(oid);
  if (value === undefined) return undefined;
  const field = `${cert.field}.${name}`;
  const n = readSmallInteger(readSingle(value, Tag.integer, field), field);
  if (n > 255) throw new ParseError(field, `expected an SPL 0–255, got ${n}`);
  return n;
}

function stringExtension(cert: Certificate, oid: string, name: string): string | undefined {
  const value = cert.extension(oid);
  if (value === undefined) return undefined;
  const el = readSingle(value, Tag.ia5String, `${cert.field}.${name}`);
  return new TextDecoder().decode(el.value);
}

function required<T>(value: T | undefined, cert: Certificate, name: string): T {
  if (value === undefined) {
    throw new VerificationError(`${cert.field}.${name}`, "required AMD extension is missing");
  }
  return value;
}

/**
 * Reads the AMD extensions of a VCEK or VLEK.
 *
 * @throws {ParseError} when an extension is malformed
 * @throws {VerificationError} when a required extension is missing, the product is unknown, or
 *   the certificate carries both or neither of `hwID` and `cspID`
 *
 * @example Read AMD's extensions of a VCEK
 * ```ts
 * import { readVekExtensions } from "../mod.ts";
 * import { parseCertificate } from "../../x509/mod.ts";
 *
 * function productOf(der: Uint8Array): string {
 *   return readVekExtensions(parseCertificate(der, "vcek")).product; // e.g. "Genoa"
 * }
 * ```
 */
export function readVekExtensions(cert: Certificate): VekExtensions {
  const productName = required(
    stringExtension(cert, AMD_VEK_OID.productName, "productName"),
    cert,
    "productName",
  );
  const product = productFromName(productName);
  if (product === undefined) {
    throw new VerificationError(`${cert.field}.productName`, `unknown product "${productName}"`);
  }
  const hwId = cert.extension(AMD_VEK_OID.hwID)?.slice();
  const cspId = stringExtension(cert, AMD_VEK_OID.cspID, "cspID");
  if ((hwId === undefined) === (cspId === undefined)) {
    throw new VerificationError(
      cert.field,
      "an AMD endorsement key certificate has exactly one of hwID (VCEK) and cspID (VLEK)",
    );
  }
  const spl = (oid: string, name: string) =>
    required(integerExtension(cert, oid, name), cert, name);
  const fmc = integerExtension(cert, AMD_VEK_OID.fmcSPL, "fmcSPL");
  if (product === "Turin" && fmc === undefined) {
    throw new VerificationError(`${cert.field}.fmcSPL`, "required for Turin but missing");
  }
  return {
    kind: hwId !== undefined ? "VCEK" : "VLEK",
    structVersion: integerExtension(cert, AMD_VEK_OID.structVersion, "structVersion"),
    productName,
    product,
    tcb: {
      bootloader: spl(AMD_VEK_OID.blSPL, "blSPL"),
      tee: spl(AMD_VEK_OID.teeSPL, "teeSPL"),
      snp: spl(AMD_VEK_OID.snpSPL, "snpSPL"),
      microcode: spl(AMD_VEK_OID.ucodeSPL, "ucodeSPL"),
      ...(fmc !== undefined ? { fmc } : {}),
    },
    hwId,
    cspId,
  };
}

/**
 * Checks that a VCEK/VLEK belongs to `report`: the report names that kind of key as its signer,
 * the products agree, the key's TCB equals `REPORTED_TCB`, and (VCEK, unless the chip ID is
 * masked) `hwID` equals `CHIP_ID`.
 *
 * @throws {VerificationError} naming the field that disagrees
 */
export function checkVekMatchesReport(ext: VekExtensions, report: SnpReport): void {
  const signer = report.signerInfo.signingKey;
  if (signer === "none") {
    throw new VerificationError("report.signer_info.signing_key", "the report is not signed");
  }
  if (signer !== ext.kind) {
    throw new VerificationError(
      "report.signer_info.signing_key",
      `the report is signed by a ${signer} but a ${ext.kind} certificate was presented`,
    );
  }
  if (report.product !== undefined && report.product !== ext.product) {
    throw new VerificationError(
      "vek.productName",
      `the ${ext.kind} is for ${ext.product} but the report comes from a ${report.product}`,
    );
  }
  const reported = report.reportedTcb;
  for (const c of ["bootloader", "tee", "snp", "microcode", "fmc"] as const) {
    const want = reported[c];
    const got = ext.tcb[c];
    if ((want ?? 0) !== (got ?? 0)) {
      throw new VerificationError(
        `vek.tcb.${c}`,
        `the ${ext.kind} was issued for ${c} SPL ${
          got ?? "none"
        } but the report's REPORTED_TCB has ${want ?? "none"}`,
      );
    }
  }
  if (ext.kind === "VCEK" && !report.signerInfo.maskChipKey) {
    const hwId = ext.hwId!;
    const chip = report.chipId;
    const rest = chip.subarray(hwId.length);
    const matches = hwId.length <= chip.length &&
      constantTimeEqual(hwId, chip.subarray(0, hwId.length)) && rest.every((b) => b === 0);
    if (!matches) {
      throw new VerificationError(
        "vek.hwID",
        `the VCEK belongs to chip ${encodeHex(hwId)}, not to the report's CHIP_ID ${
          encodeHex(chip)
        }`,
      );
    }
  }
}
