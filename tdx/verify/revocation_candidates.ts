/**
 * The rollback candidates of Intel collateral (see `collateral/revocation_marks.ts`), built the
 * same way where a document is verified (`verify_quote.ts`) and where a PCS response is checked
 * before it is cached (`tdx/pcs/client.ts`), so both compare with the same marks. Each key names
 * the document and the root it verified under; only call these for documents whose signature
 * verified under `root`.
 *
 * @module
 */
import { encodeHex } from "../../util/bytes/mod.ts";
import { CRL_MARK_NAMES, type RevocationCandidate } from "../../collateral/revocation_marks.ts";
import type { Crl } from "../../x509/crl.ts";
import type { TdxTcbInfo } from "../collateral/tcb_info.ts";
import type { QeIdentity } from "../collateral/qe_identity.ts";
import { INTEL_SGX_ROOT_CA_SHA256 } from "./intel_root.ts";

/** Mark names of Intel's signed JSON collateral. */
const PCS_MARK_NAMES = { number: "tcbEvaluationDataNumber", issued: "issueDate" } as const;

/** TCB info, per TCB info ID and FMSPC under `root`. */
export function tcbInfoCandidate(tcbInfo: TdxTcbInfo, root: string): RevocationCandidate {
  return {
    key: `intel-tcb-info ${tcbInfo.id} fmspc=${encodeHex(tcbInfo.fmspc)} root=${root}`,
    field: "tcbInfo",
    names: PCS_MARK_NAMES,
    simulated: root !== INTEL_SGX_ROOT_CA_SHA256,
    mark: { number: BigInt(tcbInfo.tcbEvaluationDataNumber), issued: tcbInfo.issueDate },
  };
}

/** QE identity, per identity ID under `root`. */
export function qeIdentityCandidate(qeIdentity: QeIdentity, root: string): RevocationCandidate {
  return {
    key: `intel-qe-identity ${qeIdentity.id} root=${root}`,
    field: "qeIdentity",
    names: PCS_MARK_NAMES,
    simulated: root !== INTEL_SGX_ROOT_CA_SHA256,
    mark: { number: BigInt(qeIdentity.tcbEvaluationDataNumber), issued: qeIdentity.issueDate },
  };
}

/** An Intel CRL (PCK or root CA), per issuer under `root`; `field` names it in errors. */
export function intelCrlCandidate(crl: Crl, field: string, root: string): RevocationCandidate {
  return {
    key: `intel-crl issuer=${crl.issuer} root=${root}`,
    field,
    names: CRL_MARK_NAMES,
    simulated: root !== INTEL_SGX_ROOT_CA_SHA256,
    mark: crl.crlNumber === undefined
      ? { issued: crl.thisUpdate }
      : { number: crl.crlNumber, issued: crl.thisUpdate },
  };
}
