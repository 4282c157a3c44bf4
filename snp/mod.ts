/**
 * AMD SEV-SNP attestation: parse (`abi/`), verify signature, chain and AMD extensions
 * (`verify/`), validate against reference values (`validate/`), fetch collateral from AMD KDS
 * (`kds/`) and obtain evidence in a guest (`guest.ts`). The simulated vendor chain is in
 * `testing/snp/`.
 * {@link SnpEvidenceVerifier} ties them together.
 *
 * @module
 */
export * from "./abi/mod.ts";
export * from "./guest.ts";
export * from "./kds/mod.ts";
export * from "./reference_values.ts";
export * from "./validate/validate.ts";
export * from "./verifier.ts";
export * from "./verify/chain.ts";
export * from "./verify/report_signature.ts";
export * from "./verify/roots.ts";
export * from "./verify/vek_extensions.ts";
