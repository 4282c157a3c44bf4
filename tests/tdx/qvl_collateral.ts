/**
 * Converts contrast's collateral bundle into @phala/dcap-qvl's collateral object, for the
 * cross-check test and the benchmarks.
 *
 * @module
 */
import { encodeHex } from "../../util/bytes/mod.ts";
import { parseSignedPcsJson } from "../../tdx/collateral/signed_json.ts";
import type { TdxCollateral } from "../../tdx/verify/collateral_bundle.ts";

/** dcap-qvl's collateral form (QuoteCollateralV3) of a contrast collateral bundle. */
export function toQvlCollateral(c: TdxCollateral) {
  const t = parseSignedPcsJson(c.tcbInfo, "tcbInfo", "tcbInfo");
  const q = parseSignedPcsJson(c.qeIdentity, "enclaveIdentity", "qeIdentity");
  return {
    tcb_info: new TextDecoder().decode(t.signedBytes),
    tcb_info_signature: encodeHex(t.signature),
    tcb_info_issuer_chain: c.tcbInfoIssuerChain,
    qe_identity: new TextDecoder().decode(q.signedBytes),
    qe_identity_signature: encodeHex(q.signature),
    qe_identity_issuer_chain: c.qeIdentityIssuerChain,
    pck_crl: encodeHex(c.pckCrl ?? c.rootCaCrl!),
    pck_crl_issuer_chain: c.pckCrlIssuerChain ?? "",
    root_ca_crl: encodeHex(c.rootCaCrl!),
  };
}
