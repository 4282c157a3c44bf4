/**
 * SEV-SNP ABI: attestation report, TCB, guest policy, platform info, signer info, certificate
 * table: parse (and build) byte-exact structures.
 *
 * @module
 */
export * from "./cert_table.ts";
export * from "./describe.ts";
export * from "./encode.ts";
export * from "./platform_info.ts";
export * from "./policy.ts";
export * from "./product.ts";
export * from "./report.ts";
export * from "./signer_info.ts";
export * from "./tcb.ts";
