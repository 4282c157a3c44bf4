/**
 * Checks a verified TDX quote against one manifest reference value and the expected report
 * data. TD attributes are compared exactly when the entry names them, else checked with the
 * default of `td_attributes.ts` (SEPT_VE_DISABLE set, DEBUG and other risky bits off). Every mismatch is a {@link ValidationError} carrying expected and actual values.
 *
 * @module
 */
import { ValidationError } from "../../util/errors/mod.ts";
import { constantTimeEqual, encodeHex } from "../../util/bytes/mod.ts";
import type { TcbStatus } from "../collateral/tcb_status.ts";
import type { TdxReferenceValue } from "../reference_values.ts";
import type { VerifiedTdxQuote } from "../verify/verify_quote.ts";
import type { PckSgxExtensions } from "../pck/sgx_extensions.ts";
import { checkDefaultTdAttributes } from "./td_attributes.ts";

/** TCB statuses that fail validation whatever the reference values allow. */
export const NEVER_ALLOWED_TCB_STATUSES: readonly TcbStatus[] = ["Revoked", "TcbNotSupported"];

/** TDATTRIBUTES bit 0: the TD is debuggable (its memory and state are visible to the host). */
const TD_ATTRIBUTE_DEBUG_BIT = 0;

/** Whether the DEBUG bit of 8-byte little-endian TD attributes is set. */
export function tdDebugEnabled(tdAttributes: Uint8Array): boolean {
  return (tdAttributes[0]! & (1 << TD_ATTRIBUTE_DEBUG_BIT)) !== 0;
}

/**
 * The MRCONFIGID contrast expects for an initdata digest (DESIGN.md): a SHA-256 digest followed by
 * 16 zero bytes, or a full SHA-384 digest.
 *
 * @throws {ValidationError} for a digest of another length
 */
export function mrConfigIdForDigest(digest: Uint8Array): Uint8Array {
  if (digest.length === 48) return digest.slice();
  if (digest.length === 32) {
    const out = new Uint8Array(48);
    out.set(digest);
    return out;
  }
  throw new ValidationError(
    "mrConfigId",
    `an initdata digest has 32 or 48 bytes, not ${digest.length}`,
  );
}

function equalBytes(field: string, expected: Uint8Array, actual: Uint8Array): void {
  if (!constantTimeEqual(expected, actual)) {
    throw new ValidationError(field, "does not match", {
      expected: encodeHex(expected),
      actual: encodeHex(actual),
    });
  }
}

/**
 * Options of {@link validateTdxQuote}.
 *
 * @example Also require the MRCONFIGID the deployment launched with
 * ```ts
 * import type { ValidateTdxOptions } from "../mod.ts";
 *
 * const options: ValidateTdxOptions = { reportData: new Uint8Array(64), mrConfigId: new Uint8Array(48) };
 * ```
 */
export interface ValidateTdxOptions {
  /** The 64 bytes of report data the quote must carry. */
  readonly reportData: Uint8Array;
  /** When given, the MRCONFIGID the quote must carry (see {@link mrConfigIdForDigest}). */
  readonly mrConfigId?: Uint8Array;
  /** Path of the reference value in errors, e.g. `ReferenceValues.tdx[0]`. */
  readonly path?: string;
}

/** SGX type of a scalable platform with memory integrity (PCK SGX extension). */
const SGX_TYPE_SCALABLE_WITH_INTEGRITY = 2;

/**
 * Contrast's platform fields, checked against the PCK certificate's SGX extension (signed by
 * Intel's PCK CA, so not under the host's control): `AllowedPIIDs` (platform instance ID),
 * `MemoryIntegrity` (SGX type 2, scalable with integrity), `SMTDisabled` and `StaticPlatform`
 * (platform configuration). A PCK without the field fails a requirement that needs it.
 *
 * @throws {ValidationError} naming the reference value's field
 */
function checkPlatformOfPck(pck: PckSgxExtensions, ref: TdxReferenceValue, p: string): void {
  const piids = ref.AllowedPIIDs ?? [];
  if (piids.length > 0) {
    const piid = pck.platformInstanceId;
    if (!piid || !piids.some((allowed) => constantTimeEqual(allowed, piid))) {
      throw new ValidationError(
        `${p}.AllowedPIIDs`,
        "the PCK's platform instance ID is not allowed",
        {
          expected: piids.map(encodeHex).join("|"),
          actual: piid ? encodeHex(piid) : "none (not a multi-package platform certificate)",
        },
      );
    }
  }
  if (ref.MemoryIntegrity && pck.sgxType !== SGX_TYPE_SCALABLE_WITH_INTEGRITY) {
    throw new ValidationError(`${p}.MemoryIntegrity`, "the platform has no memory integrity", {
      expected: `SGX type ${SGX_TYPE_SCALABLE_WITH_INTEGRITY} (scalable with integrity)`,
      actual: `SGX type ${pck.sgxType}`,
    });
  }
  const config = pck.configuration;
  if (ref.SMTDisabled && config?.smtEnabled !== false) {
    throw new ValidationError(`${p}.SMTDisabled`, "SMT is not disabled on the platform", {
      expected: "smtEnabled false",
      actual: config?.smtEnabled === undefined ? "not stated by the PCK" : "smtEnabled true",
    });
  }
  if (ref.StaticPlatform && config?.dynamicPlatform !== false) {
    throw new ValidationError(`${p}.StaticPlatform`, "the platform is not static", {
      expected: "dynamicPlatform false",
      actual: config?.dynamicPlatform === undefined
        ? "not stated by the PCK"
        : "dynamicPlatform true",
    });
  }
}

/**
 * Validates a verified quote against a reference value.
 *
 * @throws {ValidationError} naming the first field that does not match
 *
 * @example Check a verified quote against reference values and the expected report data
 * ```ts
 * import { defaultTdxReferenceValues, validateTdxQuote, type VerifiedTdxQuote } from "../mod.ts";
 *
 * function check(verified: VerifiedTdxQuote, nonce: Uint8Array): void {
 *   validateTdxQuote(verified, defaultTdxReferenceValues()[0], { reportData: nonce }); // throws ValidationError
 * }
 * ```
 */
export function validateTdxQuote(
  verified: VerifiedTdxQuote,
  ref: TdxReferenceValue,
  options: ValidateTdxOptions,
): void {
  const body = verified.quote.body;
  const p = options.path ?? "ReferenceValues.tdx";
  if (options.reportData.length !== 64) {
    throw new ValidationError("reportData", "expected report data must be 64 bytes", {
      expected: "64 bytes",
      actual: `${options.reportData.length} bytes`,
    });
  }
  equalBytes("quote.body.reportData", options.reportData, body.reportData);
  if (ref.MrTd) equalBytes(`${p}.MrTd`, ref.MrTd, body.mrTd);
  if (ref.MrSeam) equalBytes(`${p}.MrSeam`, ref.MrSeam, body.mrSeam);
  if (ref.Rtmrs) {
    ref.Rtmrs.forEach((rtmr, i) => equalBytes(`${p}.Rtmrs[${i}]`, rtmr, body.rtmrs[i]!));
  }
  if (ref.Xfam) equalBytes(`${p}.Xfam`, ref.Xfam, body.xfam);
  if (ref.TdAttributes) {
    equalBytes(`${p}.TdAttributes`, ref.TdAttributes, body.tdAttributes);
  } else {
    checkDefaultTdAttributes(body.tdAttributes, `${p}.TdAttributes`);
  }
  if (options.mrConfigId) equalBytes("quote.body.mrConfigId", options.mrConfigId, body.mrConfigId);
  const status = verified.tcb.status;
  // Revoked (by Intel) and TcbNotSupported (no TCB level or module identity applies, so parts of
  // the TCB, e.g. the TDX module's signer, went unchecked): no reference value can allow them.
  const neverAllowed = NEVER_ALLOWED_TCB_STATUSES.includes(status);
  if (neverAllowed || !ref.AllowedTcbStatuses.includes(status)) {
    throw new ValidationError(`${p}.AllowedTcbStatuses`, "TCB status is not allowed", {
      expected: neverAllowed
        ? `a TCB status other than ${NEVER_ALLOWED_TCB_STATUSES.join(" or ")}`
        : ref.AllowedTcbStatuses.join("|"),
      actual: verified.tcb.reason ? `${status} (${verified.tcb.reason})` : status,
    });
  }
  checkPlatformOfPck(verified.pck, ref, p);
  const evaluationNumber = Math.min(
    verified.tcbInfo.tcbEvaluationDataNumber,
    verified.qeIdentity.tcbEvaluationDataNumber,
  );
  if (evaluationNumber < ref.MinTCBEvaluationDataNumber) {
    throw new ValidationError(
      `${p}.MinTCBEvaluationDataNumber`,
      "collateral is older than the minimum TCB evaluation data number",
      { expected: `>= ${ref.MinTCBEvaluationDataNumber}`, actual: String(evaluationNumber) },
    );
  }
}
