/**
 * contrast: confidential container deployments on Kubernetes.
 *
 * The root entry point holds what every part shares: typed errors that name the field and the
 * reason, and byte helpers (hex, base64, digests, constant-time comparison). The attestation
 * libraries have entry points of their own: `./snp`, `./tdx`, `./x509`, `./collateral`,
 * `./evidence`, `./manifest`, `./policy`, and `./testing` for the simulators.
 *
 * @example Errors carry the field they are about
 * ```ts
 * import { decodeHex, ParseError } from "./mod.ts";
 *
 * try {
 *   decodeHex("zz", "hostData", 32);
 * } catch (e) {
 *   if (e instanceof ParseError) console.log(e.field); // "hostData"
 * }
 * ```
 *
 * @module
 */
export {
  ContrastError,
  type FieldIssue,
  InvalidDocumentError,
  NotFoundError,
  ParseError,
  UnavailableError,
  ValidationError,
  VerificationError,
} from "./util/errors/mod.ts";
export { decodeBase64, encodeBase64 } from "./util/bytes/base64.ts";
export { concatBytes } from "./util/bytes/concat.ts";
export { digest, type HashAlgorithm, sha256 } from "./util/bytes/digest.ts";
export { constantTimeEqual } from "./util/bytes/equal.ts";
export { decodeHex, encodeHex } from "./util/bytes/hex.ts";
export { IssueList } from "./util/json/issues.ts";
