/**
 * TCB evaluation of a TDX quote against Intel collateral, following the algorithm of Intel's
 * quote verification library (QVL): the platform TCB level is the first level (collateral order,
 * highest first) whose SGX components and PCESVN are at most the PCK certificate's and whose TDX
 * components are at most the quote's TEE_TCB_SVN (bytes 0–1 skipped when TEE_TCB_SVN[1] > 0,
 * the module then being judged by its own identity `TDX_<TEE_TCB_SVN[1] hex>`, level by
 * TEE_TCB_SVN[0]); the QE is judged by its identity and ISV SVN; the statuses converge as QVL
 * does (an out-of-date QE or module makes the result out of date; a revoked one, revoked).
 *
 * @module
 */
import { VerificationError } from "../../util/errors/mod.ts";
import { constantTimeEqual, encodeHex } from "../../util/bytes/mod.ts";
import type { PckSgxExtensions } from "../pck/sgx_extensions.ts";
import type { QeIdentity, QeTcbLevel } from "../collateral/qe_identity.ts";
import type {
  TdxModuleIdentity,
  TdxModuleTcbLevel,
  TdxTcbInfo,
  TdxTcbLevel,
} from "../collateral/tcb_info.ts";
import type { CollateralTcbStatus, TcbStatus } from "../collateral/tcb_status.ts";
import type { SgxReportBody, TdxReportBody } from "../quote/types.ts";

/**
 * The result of the QE identity check.
 *
 * @example The QE's TCB status
 * ```ts
 * import type { QeEvaluation, VerifiedTdxQuote } from "../mod.ts";
 *
 * function qeStatus(verified: VerifiedTdxQuote): string {
 *   const qe: QeEvaluation = verified.tcb.qe;
 *   return qe.status;
 * }
 * ```
 */
export interface QeEvaluation {
  /** Status of the QE's TCB level ("Revoked" when no level admits its ISV SVN, as QVL). */
  readonly status: CollateralTcbStatus;
  /** The matched level, if any. */
  readonly level?: QeTcbLevel;
}

/**
 * The result of TCB evaluation.
 *
 * @example Print the platform's TCB status and advisories
 * ```ts
 * import type { TcbEvaluation, VerifiedTdxQuote } from "../mod.ts";
 *
 * function tcbLine(verified: VerifiedTdxQuote): string {
 *   const tcb: TcbEvaluation = verified.tcb;
 *   return `${tcb.status} ${tcb.advisoryIds.join(", ")}`;
 * }
 * ```
 */
export interface TcbEvaluation {
  /** The final (converged) status. */
  readonly status: TcbStatus;
  /** Advisory IDs of the matched platform level, module level and QE level (deduplicated). */
  readonly advisoryIds: readonly string[];
  /** The first level the SGX components and PCESVN meet, if any. */
  readonly sgxLevel?: TdxTcbLevel;
  /** The platform level matched by SGX and TDX components, if any. */
  readonly tdxLevel?: TdxTcbLevel;
  /** The TDX module identity used, if TEE_TCB_SVN[1] > 0. */
  readonly moduleIdentity?: TdxModuleIdentity;
  /** The matched module level, if any. */
  readonly moduleLevel?: TdxModuleTcbLevel;
  /** The QE evaluation. */
  readonly qe: QeEvaluation;
  /** Why the status is TcbNotSupported, when it is. */
  readonly reason?: string;
}

function maskedEqual(a: Uint8Array, b: Uint8Array, mask: Uint8Array): boolean {
  if (a.length !== mask.length || b.length !== mask.length) return false;
  let diff = 0;
  for (let i = 0; i < mask.length; i++) diff |= (a[i]! & mask[i]!) ^ (b[i]! & mask[i]!);
  return diff === 0;
}

/**
 * Checks the QE report against the QE identity and finds its TCB level.
 *
 * @throws {VerificationError} when MRSIGNER, ISV PROD ID, MISCSELECT or attributes do not match
 */
function evaluateQeIdentity(qeReport: SgxReportBody, identity: QeIdentity): QeEvaluation {
  if (!constantTimeEqual(qeReport.mrSigner, identity.mrSigner)) {
    throw new VerificationError(
      "quote.qeReport.mrSigner",
      `does not match the QE identity (expected ${encodeHex(identity.mrSigner)}, got ${
        encodeHex(qeReport.mrSigner)
      })`,
    );
  }
  if (qeReport.isvProdId !== identity.isvProdId) {
    throw new VerificationError(
      "quote.qeReport.isvProdId",
      `does not match the QE identity (expected ${identity.isvProdId}, got ${qeReport.isvProdId})`,
    );
  }
  if (((qeReport.miscSelect & identity.miscSelectMask) >>> 0) !== (identity.miscSelect >>> 0)) {
    throw new VerificationError(
      "quote.qeReport.miscSelect",
      "does not match the QE identity under its mask",
    );
  }
  if (!maskedEqual(qeReport.attributes, identity.attributes, identity.attributesMask)) {
    throw new VerificationError(
      "quote.qeReport.attributes",
      "do not match the QE identity under its mask",
    );
  }
  const level = identity.tcbLevels.find((l) => l.isvSvn <= qeReport.isvSvn);
  return level ? { status: level.tcbStatus, level } : { status: "Revoked" };
}

function sgxMeets(pck: PckSgxExtensions, level: TdxTcbLevel): boolean {
  for (let i = 0; i < 16; i++) {
    if (pck.sgxTcbComponents[i]! < level.sgxTcbComponents[i]!) return false;
  }
  return pck.pceSvn >= level.pceSvn;
}

function tdxMeets(teeTcbSvn: Uint8Array, level: TdxTcbLevel): boolean {
  const start = teeTcbSvn[1]! > 0 ? 2 : 0;
  for (let i = start; i < 16; i++) {
    if (teeTcbSvn[i]! < level.tdxTcbComponents[i]!) return false;
  }
  return true;
}

/** QVL's convergence of a platform status with an out-of-date or revoked QE/module status. */
export function convergeStatus(
  platform: CollateralTcbStatus,
  other: CollateralTcbStatus,
): CollateralTcbStatus {
  if (other === "Revoked") return "Revoked";
  if (other === "OutOfDate" || other === "OutOfDateConfigurationNeeded") {
    if (platform === "UpToDate" || platform === "SWHardeningNeeded") return "OutOfDate";
    if (platform === "ConfigurationNeeded" || platform === "ConfigurationAndSWHardeningNeeded") {
      return "OutOfDateConfigurationNeeded";
    }
  }
  return platform;
}

function union(...lists: (readonly string[] | undefined)[]): string[] {
  return [...new Set(lists.flatMap((l) => l ?? []))];
}

/**
 * Evaluates the TCB of a TDX platform from its PCK certificate extensions, the quote's TD report
 * and QE report, and verified collateral.
 *
 * @throws {VerificationError} when the QE or the TDX module does not match its identity
 */
export function evaluateTdxTcb(input: {
  readonly tcbInfo: TdxTcbInfo;
  readonly qeIdentity: QeIdentity;
  readonly pck: PckSgxExtensions;
  readonly body: TdxReportBody;
  readonly qeReport: SgxReportBody;
}): TcbEvaluation {
  const { tcbInfo, pck, body } = input;
  const qe = evaluateQeIdentity(input.qeReport, input.qeIdentity);
  const sgxLevel = tcbInfo.tcbLevels.find((l) => sgxMeets(pck, l));
  const tdxLevel = tcbInfo.tcbLevels.find((l) => sgxMeets(pck, l) && tdxMeets(body.teeTcbSvn, l));
  if (!tdxLevel) {
    return {
      status: "TcbNotSupported",
      advisoryIds: [],
      sgxLevel,
      qe,
      reason: sgxLevel
        ? "no TCB level whose TDX components are <= the quote's TEE_TCB_SVN"
        : "no TCB level whose SGX components and PCESVN are <= the PCK certificate's",
    };
  }
  const module = evaluateTdxModule(tcbInfo, body);
  if (!module.ok) {
    return {
      status: "TcbNotSupported",
      advisoryIds: [],
      sgxLevel,
      tdxLevel,
      ...(module.moduleIdentity ? { moduleIdentity: module.moduleIdentity } : {}),
      qe,
      reason: module.reason,
    };
  }
  const { moduleIdentity, moduleLevel } = module;
  let status: CollateralTcbStatus = tdxLevel.tcbStatus;
  if (moduleLevel) status = convergeStatus(status, moduleLevel.tcbStatus);
  status = convergeStatus(status, qe.status);
  return {
    status,
    advisoryIds: union(tdxLevel.advisoryIds, moduleLevel?.advisoryIds, qe.level?.advisoryIds),
    sgxLevel,
    tdxLevel,
    moduleIdentity,
    moduleLevel,
    qe,
  };
}

/** How the quote's TDX module fares against the TCB info. */
type ModuleEvaluation =
  | {
    readonly ok: true;
    readonly moduleIdentity?: TdxModuleIdentity;
    readonly moduleLevel?: TdxModuleTcbLevel;
  }
  | { readonly ok: false; readonly reason: string; readonly moduleIdentity?: TdxModuleIdentity };

/**
 * The TDX module: with a module major version, the TCB info's identity of that version (none is a
 * mismatch; MRSIGNER_SEAM and SEAM attributes must match) and its highest level the module's SVN
 * meets; with major version 0, the TCB info's single module, when it names one.
 *
 * @throws {VerificationError} when MRSIGNER_SEAM or the SEAM attributes do not match
 */
function evaluateTdxModule(tcbInfo: TdxTcbInfo, body: TdxReportBody): ModuleEvaluation {
  const major = body.teeTcbSvn[1]!;
  // As QVL: a module with a major version is judged by its identity, also when the TCB info has
  // none (a mismatch then): its TDX components skip TEE_TCB_SVN bytes 0-1, so nothing else would
  // check the module's ISV SVN.
  if (major > 0) {
    const id = `TDX_${major.toString(16).padStart(2, "0").toUpperCase()}`;
    const moduleIdentity = tcbInfo.tdxModuleIdentities.find((m) => m.id.toUpperCase() === id);
    if (!moduleIdentity) return { ok: false, reason: `TCB info has no TDX module identity ${id}` };
    if (!constantTimeEqual(body.mrSignerSeam, moduleIdentity.mrSigner)) {
      throw new VerificationError(
        "quote.body.mrSignerSeam",
        `does not match TDX module identity ${moduleIdentity.id}`,
      );
    }
    if (
      !maskedEqual(body.seamAttributes, moduleIdentity.attributes, moduleIdentity.attributesMask)
    ) {
      throw new VerificationError(
        "quote.body.seamAttributes",
        `do not match TDX module identity ${moduleIdentity.id} under its mask`,
      );
    }
    const moduleLevel = moduleIdentity.tcbLevels.find((l) => l.isvSvn <= body.teeTcbSvn[0]!);
    if (!moduleLevel) {
      return {
        ok: false,
        moduleIdentity,
        reason: `no level of TDX module identity ${id} admits ISV SVN ${body.teeTcbSvn[0]}`,
      };
    }
    return { ok: true, moduleIdentity, moduleLevel };
  }
  if (tcbInfo.tdxModule) {
    if (!constantTimeEqual(body.mrSignerSeam, tcbInfo.tdxModule.mrSigner)) {
      throw new VerificationError(
        "quote.body.mrSignerSeam",
        "does not match the TCB info's TDX module",
      );
    }
    if (
      !maskedEqual(
        body.seamAttributes,
        tcbInfo.tdxModule.attributes,
        tcbInfo.tdxModule.attributesMask,
      )
    ) {
      throw new VerificationError(
        "quote.body.seamAttributes",
        "do not match the TCB info's TDX module under its mask",
      );
    }
  }
  return { ok: true };
}
