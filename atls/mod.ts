/**
 * Attested TLS shared by the CLI, the Coordinator and the Initializer: report-data bindings,
 * the evidence-carrying TLS certificate, HPKE sealing to attested keys, and a key-pinning HTTPS
 * client.
 *
 * @module
 */
export * from "./certificate.ts";
export * from "./coordinator_client.ts";
export * from "./coordinator_trust.ts";
export * from "./evidence_json.ts";
export * from "./hpke.ts";
export * from "./pinned_client.ts";
export * from "../protocol/report_data.ts";
