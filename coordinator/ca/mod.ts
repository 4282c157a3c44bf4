/**
 * The Coordinator's certificate authority: seed-derived root, per-manifest mesh CA and
 * intermediate, and leaf certificates carrying attestation claims.
 *
 * @module
 */
export * from "./certificate_authority.ts";
export * from "../../protocol/claims_extension.ts";
