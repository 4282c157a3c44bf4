/**
 * The sizes of the mesh flow's requests and answers (`--flow mesh` of `scripts/load_test.ts`, a
 * simulated SNP pod of the web policy, counted by `app_cpu.ts` on 2026-12-07): what the connection-layer
 * benchmark sends and answers, so its TLS records and HTTP bodies are the real exchange's.
 *
 * @module
 */

/** `POST /mesh/challenge` body (`{}`). */
export const CHALLENGE_REQUEST_BYTES = 2;
/** Its answer (nonce and lifetime). */
export const CHALLENGE_ANSWER_BYTES = 98;
/** `POST /mesh/certificate` body (nonce, evidence with the VCEK, the pod's two public keys). */
export const CERTIFICATE_REQUEST_BYTES = 6423;
/** Its answer (leaf and intermediate, mesh CA, root CA, sealed workload secret). */
export const CERTIFICATE_ANSWER_BYTES = 5106;
