/**
 * Intel QE identity (version 2, `id` "TD_QE") as served by Intel PCS
 * `GET /tdx/certification/v4/qe/identity`. Parsed from the exact signed bytes.
 *
 * @module
 */
import { decodeHex } from "../../util/bytes/mod.ts";
import { IssueList, ObjectReader } from "../../util/json/mod.ts";
import { parseSignedPcsJson } from "./signed_json.ts";
import { readDate, readTcbLevelCommon, type TcbLevelCommon } from "./tcb_level.ts";

/**
 * A QE TCB level, keyed by the QE's ISV SVN.
 *
 * @example Print the QE's TCB levels
 * ```ts
 * import type { QeIdentity, QeTcbLevel } from "../mod.ts";
 *
 * function levels(identity: QeIdentity): string[] {
 *   return identity.tcbLevels.map((l: QeTcbLevel) => `isvsvn ${l.isvSvn}: ${l.tcbStatus}`);
 * }
 * ```
 */
export interface QeTcbLevel extends TcbLevelCommon {
  /** Minimum ISV SVN of the level. */
  readonly isvSvn: number;
}

/**
 * A parsed QE identity.
 *
 * @example When does the QE identity a quote was checked against expire?
 * ```ts
 * import type { VerifiedTdxQuote } from "../mod.ts";
 *
 * function qeIdentityExpiry(verified: VerifiedTdxQuote): Date {
 *   return verified.qeIdentity.nextUpdate;
 * }
 * ```
 */
export interface QeIdentity {
  /** `"TD_QE"` for TDX. */
  readonly id: string;
  /** 2. */
  readonly version: number;
  /** When Intel issued it. */
  readonly issueDate: Date;
  /** When it must be replaced. */
  readonly nextUpdate: Date;
  /** TCB evaluation data number. */
  readonly tcbEvaluationDataNumber: number;
  /** Expected MISCSELECT under the mask. */
  readonly miscSelect: number;
  /** MISCSELECT mask. */
  readonly miscSelectMask: number;
  /** Expected attributes (16 bytes) under the mask. */
  readonly attributes: Uint8Array;
  /** Attributes mask (16 bytes). */
  readonly attributesMask: Uint8Array;
  /** Expected MRSIGNER (32 bytes). */
  readonly mrSigner: Uint8Array;
  /** Expected ISV PROD ID. */
  readonly isvProdId: number;
  /** Levels, highest first. */
  readonly tcbLevels: readonly QeTcbLevel[];
}

/** A QE identity with the exact bytes Intel signed and the signature. */
interface SignedQeIdentity {
  /** The parsed identity. */
  readonly qeIdentity: QeIdentity;
  /** The exact signed bytes of the `enclaveIdentity` value. */
  readonly signedBytes: Uint8Array;
  /** ECDSA P-256 signature (r ‖ s). */
  readonly signature: Uint8Array;
}

/**
 * Reads a QE identity value (the object under `enclaveIdentity`).
 *
 * @throws {import("../../util/errors/mod.ts").InvalidDocumentError} listing every problem with its path
 */
function readQeIdentity(value: unknown, path = "enclaveIdentity"): QeIdentity {
  const issues = new IssueList();
  const r = new ObjectReader(value, path, issues);
  const id = r.string("id");
  if (id !== undefined && id !== "TD_QE") issues.add(`${path}.id`, `expected "TD_QE", got "${id}"`);
  const version = r.integer("version");
  if (version !== undefined && version !== 2) {
    issues.add(`${path}.version`, `expected version 2, got ${version}`);
  }
  const issueDate = readDate(r, "issueDate");
  const nextUpdate = readDate(r, "nextUpdate");
  const tcbEvaluationDataNumber = r.integer("tcbEvaluationDataNumber", { min: 0 });
  const u32 = (key: string) => {
    const h = r.hex(key, 4);
    return h === undefined ? undefined : decodeHex(h);
  };
  const misc = u32("miscselect");
  const miscMask = u32("miscselectMask");
  const attributes = r.hex("attributes", 16);
  const attributesMask = r.hex("attributesMask", 16);
  const mrSigner = r.hex("mrsigner", 32);
  const isvProdId = r.integer("isvprodid", { min: 0, max: 0xffff });
  const tcbLevels = r.array("tcbLevels", (v, p) => {
    const l = new ObjectReader(v, p, issues);
    if (!l.ok) return undefined;
    const isvSvn = l.object("tcb", (t) => t.integer("isvsvn", { min: 0, max: 0xffff }));
    const common = readTcbLevelCommon(l);
    return isvSvn === undefined || !common ? undefined : { ...common, isvSvn };
  });
  issues.throwIfAny();
  // MISCSELECT is shown big-endian in the JSON (as a number), while the report stores it LE.
  const be = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset).getUint32(0, false);
  return {
    id: id!,
    version: version!,
    issueDate: new Date(issueDate!),
    nextUpdate: new Date(nextUpdate!),
    tcbEvaluationDataNumber: tcbEvaluationDataNumber!,
    miscSelect: be(misc!),
    miscSelectMask: be(miscMask!),
    attributes: decodeHex(attributes!),
    attributesMask: decodeHex(attributesMask!),
    mrSigner: decodeHex(mrSigner!),
    isvProdId: isvProdId!,
    tcbLevels: tcbLevels!,
  };
}

/**
 * Parses a PCS QE identity response body (`{"enclaveIdentity":…,"signature":…}`).
 *
 * @throws {import("../../util/errors/mod.ts").ParseError} when the body is not of that form
 * @throws {import("../../util/errors/mod.ts").InvalidDocumentError} when the identity is malformed
 */
export function parseQeIdentityResponse(body: Uint8Array): SignedQeIdentity {
  const signed = parseSignedPcsJson(body, "enclaveIdentity", "qeIdentityResponse");
  return {
    qeIdentity: readQeIdentity(signed.value),
    signedBytes: signed.signedBytes,
    signature: signed.signature,
  };
}
