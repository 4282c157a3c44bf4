/**
 * Attested TLS shared by the CLI, the Coordinator and the Initializer: the evidence-carrying TLS
 * certificate, the Coordinator client and trust document, and a key-pinning HTTPS client. The
 * wire formats they speak (report-data bindings, HPKE sealing, messages) are in `protocol/`.
 *
 * @module
 */
export * from "./certificate.ts";
export * from "./coordinator_client.ts";
export * from "./coordinator_trust.ts";
export * from "./pinned_client.ts";
