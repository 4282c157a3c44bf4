/**
 * AMD SEV-SNP attestation: parse (`abi/`), verify signature, chain and AMD extensions
 * (`verify/`), validate against reference values (`validate/`), fetch collateral from AMD KDS
 * (`kds/`) and obtain evidence in a guest (`guest.ts`). The simulated vendor chain is in
 * `testing/snp/`.
 * {@link SnpEvidenceVerifier} ties them together.
 *
 * @example Verify a report with the certificates it came with, against the built-in defaults
 * ```ts
 * import { defaultSnpReferenceValues, SnpEvidenceVerifier } from "./mod.ts";
 *
 * async function verify(report: Uint8Array, aux: Uint8Array, reportData: Uint8Array) {
 *   const verifier = new SnpEvidenceVerifier({
 *     referenceValues: defaultSnpReferenceValues(), // no debug, no migration agent, VMPL 0
 *   });
 *   const result = await verifier.verifyDetailed(
 *     { platform: "snp", report, aux },
 *     { reportData, now: new Date() },
 *   );
 *   return result.claims.measurement; // verified: signature, chain to the pinned ARK, policy
 * }
 * ```
 *
 * @example Decode a report without verifying it
 * ```ts
 * import { parseSnpReport } from "./mod.ts";
 *
 * function measurementOf(bytes: Uint8Array): Uint8Array {
 *   return parseSnpReport(bytes).measurement;
 * }
 * ```
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
