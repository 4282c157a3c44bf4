/**
 * Intel TCB info (version 3, `id` "TDX") as served by Intel PCS `GET /tdx/certification/v4/tcb`.
 * Parsed from the exact signed bytes (see {@link parseSignedPcsJson}). Fields Intel may add later
 * are ignored (the document is signed by Intel; unknown fields carry no meaning for us).
 *
 * @module
 */
import { decodeHex } from "../../util/bytes/mod.ts";
import { IssueList, ObjectReader } from "../../util/json/mod.ts";
import { parseSignedPcsJson } from "./signed_json.ts";
import { readDate, readTcbLevelCommon, type TcbLevelCommon } from "./tcb_level.ts";

/**
 * A TCB level of the platform: SGX components + PCESVN + TDX components.
 *
 * @example The TCB level a quote was matched to
 * ```ts
 * import type { TdxTcbLevel, VerifiedTdxQuote } from "../mod.ts";
 *
 * function matchedLevel(verified: VerifiedTdxQuote): TdxTcbLevel | undefined {
 *   return verified.tcb.tdxLevel;
 * }
 * ```
 */
export interface TdxTcbLevel extends TcbLevelCommon {
  /** The 16 SGX TCB component SVNs. */
  readonly sgxTcbComponents: readonly number[];
  /** PCESVN of the level. */
  readonly pceSvn: number;
  /** The 16 TDX TCB component SVNs (compared with TEE_TCB_SVN). */
  readonly tdxTcbComponents: readonly number[];
}

/**
 * A TCB level of a TDX module identity (keyed by its ISV SVN, TEE_TCB_SVN byte 0).
 *
 * @example The TDX module's TCB level
 * ```ts
 * import type { TdxModuleTcbLevel, VerifiedTdxQuote } from "../mod.ts";
 *
 * function moduleStatus(verified: VerifiedTdxQuote): string {
 *   const level: TdxModuleTcbLevel | undefined = verified.tcb.moduleLevel;
 *   return level ? `${level.isvSvn}: ${level.tcbStatus}` : "no module identity";
 * }
 * ```
 */
export interface TdxModuleTcbLevel extends TcbLevelCommon {
  /** Minimum ISV SVN of the level. */
  readonly isvSvn: number;
}

/**
 * One TDX module identity (`TDX_01`, `TDX_03`, …: module major version in hex).
 *
 * @example List the TDX module identities Intel publishes for a platform
 * ```ts
 * import type { TdxModuleIdentity, TdxTcbInfo } from "../mod.ts";
 *
 * function moduleIds(info: TdxTcbInfo): string[] {
 *   return info.tdxModuleIdentities.map((m: TdxModuleIdentity) => m.id);
 * }
 * ```
 */
export interface TdxModuleIdentity {
  /** Identity name, `TDX_` + two hex digits of the module's major version. */
  readonly id: string;
  /** Expected MRSIGNERSEAM (48 bytes). */
  readonly mrSigner: Uint8Array;
  /** Expected SEAM attributes (8 bytes), compared under the mask. */
  readonly attributes: Uint8Array;
  /** Mask for SEAM attributes (8 bytes). */
  readonly attributesMask: Uint8Array;
  /** Levels, highest first. */
  readonly tcbLevels: readonly TdxModuleTcbLevel[];
}

/**
 * A parsed TDX TCB info.
 *
 * @example The TCB evaluation data number a quote was checked against
 * ```ts
 * import type { TdxTcbInfo, VerifiedTdxQuote } from "../mod.ts";
 *
 * function evaluationDataNumber(verified: VerifiedTdxQuote): number {
 *   const info: TdxTcbInfo = verified.tcbInfo;
 *   return info.tcbEvaluationDataNumber;
 * }
 * ```
 */
export interface TdxTcbInfo {
  /** `"TDX"`. */
  readonly id: string;
  /** 3. */
  readonly version: number;
  /** When Intel issued it. */
  readonly issueDate: Date;
  /** When it must be replaced. */
  readonly nextUpdate: Date;
  /** FMSPC the TCB info applies to (6 bytes). */
  readonly fmspc: Uint8Array;
  /** PCE ID (2 bytes). */
  readonly pceId: Uint8Array;
  /** TCB type (0). */
  readonly tcbType: number;
  /** TCB evaluation data number (monotonic collateral release counter). */
  readonly tcbEvaluationDataNumber: number;
  /** The `tdxModule` entry (required when parsed; optional only in hand-built values). */
  readonly tdxModule?: { mrSigner: Uint8Array; attributes: Uint8Array; attributesMask: Uint8Array };
  /** TDX module identities (TD 1.5 era collateral); empty in older collateral. */
  readonly tdxModuleIdentities: readonly TdxModuleIdentity[];
  /** Platform TCB levels, highest first. */
  readonly tcbLevels: readonly TdxTcbLevel[];
}

/** TCB info with the exact bytes Intel signed and the signature. */
interface SignedTdxTcbInfo {
  /** The parsed TCB info. */
  readonly tcbInfo: TdxTcbInfo;
  /** The exact signed bytes of the `tcbInfo` value. */
  readonly signedBytes: Uint8Array;
  /** ECDSA P-256 signature (r ‖ s). */
  readonly signature: Uint8Array;
}

function svnList(r: ObjectReader, key: string): number[] | undefined {
  const list = r.array(key, (v, p) => {
    const c = new ObjectReader(v, p, r.issues);
    if (!c.ok) return undefined;
    const svn = c.integer("svn", { min: 0, max: 255 });
    c.string("category", false);
    c.string("type", false);
    return svn;
  });
  if (list && list.length !== 16) {
    r.issues.add(`${r.path}.${key}`, `expected 16 components, got ${list.length}`);
    return undefined;
  }
  return list;
}

function hexField(r: ObjectReader, key: string, bytes: number): Uint8Array | undefined {
  const h = r.hex(key, bytes);
  return h === undefined ? undefined : decodeHex(h);
}

function readModuleLevel(v: unknown, p: string, issues: IssueList): TdxModuleTcbLevel | undefined {
  const r = new ObjectReader(v, p, issues);
  if (!r.ok) return undefined;
  const isvSvn = r.object("tcb", (t) => t.integer("isvsvn", { min: 0, max: 0xffff }));
  const common = readTcbLevelCommon(r);
  if (isvSvn === undefined || !common) return undefined;
  return { ...common, isvSvn };
}

function readModuleIdentity(
  v: unknown,
  p: string,
  issues: IssueList,
): TdxModuleIdentity | undefined {
  const r = new ObjectReader(v, p, issues);
  if (!r.ok) return undefined;
  const id = r.string("id");
  const mrSigner = hexField(r, "mrsigner", 48);
  const attributes = hexField(r, "attributes", 8);
  const attributesMask = hexField(r, "attributesMask", 8);
  const tcbLevels = r.array("tcbLevels", (x, q) => readModuleLevel(x, q, issues));
  if (!id || !mrSigner || !attributes || !attributesMask || !tcbLevels) return undefined;
  return { id, mrSigner, attributes, attributesMask, tcbLevels };
}

function readTcbLevel(v: unknown, p: string, issues: IssueList): TdxTcbLevel | undefined {
  const r = new ObjectReader(v, p, issues);
  if (!r.ok) return undefined;
  const tcb = r.object("tcb", (t) => ({
    sgx: svnList(t, "sgxtcbcomponents"),
    pceSvn: t.integer("pcesvn", { min: 0, max: 0xffff }),
    tdx: svnList(t, "tdxtcbcomponents"),
  }));
  const common = readTcbLevelCommon(r);
  if (!tcb || !tcb.sgx || tcb.pceSvn === undefined || !tcb.tdx || !common) return undefined;
  return { ...common, sgxTcbComponents: tcb.sgx, pceSvn: tcb.pceSvn, tdxTcbComponents: tcb.tdx };
}

/**
 * Reads a TDX TCB info value (the object under `tcbInfo`).
 *
 * @throws {import("../../util/errors/mod.ts").InvalidDocumentError} listing every problem with its path
 */
function readTdxTcbInfo(value: unknown, path = "tcbInfo"): TdxTcbInfo {
  const issues = new IssueList();
  const r = new ObjectReader(value, path, issues);
  const id = r.string("id");
  if (id !== undefined && id !== "TDX") issues.add(`${path}.id`, `expected "TDX", got "${id}"`);
  const version = r.integer("version");
  if (version !== undefined && version !== 3) {
    issues.add(`${path}.version`, `expected version 3, got ${version}`);
  }
  const issueDate = readDate(r, "issueDate");
  const nextUpdate = readDate(r, "nextUpdate");
  const fmspc = hexField(r, "fmspc", 6);
  const pceId = hexField(r, "pceId", 2);
  const tcbType = r.integer("tcbType", { min: 0 });
  if (tcbType !== undefined && tcbType !== 0) {
    issues.add(`${path}.tcbType`, `only TCB type 0 is defined, got ${tcbType}`);
  }
  const tcbEvaluationDataNumber = r.integer("tcbEvaluationDataNumber", { min: 0 });
  // Required in TDX TCB info (as Intel's QVL reads it): the signer of TDX modules without a major
  // version is checked against it; without it MRSIGNERSEAM would go unchecked.
  const tdxModule = r.object("tdxModule", (m) => ({
    mrSigner: hexField(m, "mrsigner", 48),
    attributes: hexField(m, "attributes", 8),
    attributesMask: hexField(m, "attributesMask", 8),
  }));
  const tdxModuleIdentities = r.array(
    "tdxModuleIdentities",
    (v, p) => readModuleIdentity(v, p, issues),
    false,
  ) ?? [];
  const tcbLevels = r.array("tcbLevels", (v, p) => readTcbLevel(v, p, issues));
  if (tcbLevels && tcbLevels.length === 0) issues.add(`${path}.tcbLevels`, "no TCB levels");
  issues.throwIfAny();
  return {
    id: id!,
    version: version!,
    issueDate: new Date(issueDate!),
    nextUpdate: new Date(nextUpdate!),
    fmspc: fmspc!,
    pceId: pceId!,
    tcbType: tcbType!,
    tcbEvaluationDataNumber: tcbEvaluationDataNumber!,
    tdxModule: tdxModule?.mrSigner && tdxModule.attributes && tdxModule.attributesMask
      ? {
        mrSigner: tdxModule.mrSigner,
        attributes: tdxModule.attributes,
        attributesMask: tdxModule.attributesMask,
      }
      : undefined,
    tdxModuleIdentities,
    tcbLevels: tcbLevels!,
  };
}

/**
 * Parses a PCS TCB info response body (`{"tcbInfo":…,"signature":…}`), keeping the signed bytes.
 *
 * @throws {ParseError} when the body is not of that form
 * @throws {import("../../util/errors/mod.ts").InvalidDocumentError} when the TCB info is malformed
 */
export function parseTdxTcbInfoResponse(body: Uint8Array): SignedTdxTcbInfo {
  const signed = parseSignedPcsJson(body, "tcbInfo", "tcbInfoResponse");
  return {
    tcbInfo: readTdxTcbInfo(signed.value),
    signedBytes: signed.signedBytes,
    signature: signed.signature,
  };
}
