/**
 * The pinned Intel SGX Root CA (the root of PCK certificates, TCB signing certificates and
 * their CRLs): `INTEL_SGX_ROOT_CA_SHA256`, defined with its provenance in
 * `evidence/vendor_roots.ts` next to AMD's ARKs, so both platforms can refuse either vendor's root
 * as a simulated one.
 *
 * @module
 */
export { INTEL_SGX_ROOT_CA_SHA256 } from "../../evidence/vendor_roots.ts";
