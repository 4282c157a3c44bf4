/**
 * The sizes of the mesh flow's request and answer (`--flow mesh` of `scripts/load_test.ts`, a
 * simulated SNP pod of the web policy; counted through the Coordinator's handler on 2026-12-07,
 * with the request bound to the TLS connection: no challenge, no HPKE): what the
 * connection-layer benchmark sends and answers, so its TLS records and HTTP bodies are the real
 * exchange's.
 *
 * @module
 */

/** `POST /mesh/certificate` body (evidence with the VCEK, the pod's certificate key). */
export const CERTIFICATE_REQUEST_BYTES = 6265;
/** Its answer (leaf and intermediate, mesh CA, root CA, the workload secret in base64). */
export const CERTIFICATE_ANSWER_BYTES = 5018;
