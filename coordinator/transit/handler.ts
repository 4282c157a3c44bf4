/**
 * One transit request: authorise the caller by its mesh certificate, resolve the key name
 * against its WorkloadSecretID, run the operation, and answer in OpenBao/Vault's shape
 * (`{"data": …}` on success, `{"errors": ["…"]}` otherwise). Plaintexts, ciphertexts and keys are
 * never logged.
 *
 * @module
 */
import { ContrastError, ParseError, UnavailableError } from "../../util/errors/mod.ts";
import { KeyAccessDeniedError, resolveKeyName, type TransitKeyId } from "../../kms/key_name.ts";
import {
  type TransitAnswer,
  transitDecrypt,
  transitEncrypt,
  transitRewrap,
} from "../../kms/transit_engine.ts";
import {
  parseCreateKeyRequest,
  parseDecryptRequest,
  parseEncryptRequest,
  parseRewrapRequest,
} from "../../kms/transit_requests.ts";
import { ConflictError, NotFoundError, PayloadTooLargeError } from "../../protocol/errors.ts";
import type { TransitClient } from "./authorize.ts";
import type { TransitKeyRings } from "./key_rings.ts";
import { MethodNotAllowedError, type TransitRoute } from "./routes.ts";
import type { TransitView } from "./view.ts";

/** The key type every transit key has. */
const KEY_TYPE = "aes256-gcm96";

/** An HTTP answer of the transit API. */
export interface TransitHttpAnswer {
  /** HTTP status. */
  readonly status: number;
  /** JSON body (`undefined` for 204). */
  readonly body?: unknown;
}

/** The Coordinator has no active manifest (HTTP 503, as a sealed Vault answers). */
class TransitUnavailableError extends ContrastError {}

/** Vault's success envelope around `data`. */
function vaultEnvelope(data: Record<string, unknown>): Record<string, unknown> {
  return {
    request_id: crypto.randomUUID(),
    lease_id: "",
    renewable: false,
    lease_duration: 0,
    data,
    wrap_info: null,
    warnings: null,
    auth: null,
  };
}

/** The status and Vault error body for `error` (unexpected errors disclose nothing). */
export function transitErrorAnswer(error: unknown): TransitHttpAnswer {
  if (!(error instanceof ContrastError)) {
    return { status: 500, body: { errors: ["internal error"] } };
  }
  const status = error instanceof KeyAccessDeniedError
    ? 403
    : error instanceof TransitUnavailableError || error instanceof UnavailableError
    ? 503
    : error instanceof MethodNotAllowedError
    ? 405
    : error instanceof NotFoundError
    ? 404
    : error instanceof PayloadTooLargeError
    ? 413
    : error instanceof ConflictError
    ? 409
    : 400;
  return { status, body: { errors: [error.message] } };
}

/** Key metadata as `GET /v1/transit/keys/<name>` answers it. */
function keyInfo(name: string, latestVersion: number): Record<string, unknown> {
  const keys: Record<string, number> = {};
  // Creation times are not recorded (keys are derived, not stored): 0 says "unknown".
  for (let v = 1; v <= latestVersion; v++) keys[String(v)] = 0;
  return {
    name,
    type: KEY_TYPE,
    keys,
    latest_version: latestVersion,
    min_decryption_version: 1,
    min_encryption_version: 0,
    min_available_version: 0,
    deletion_allowed: false,
    derived: false,
    exportable: false,
    allow_plaintext_backup: false,
    supports_encryption: true,
    supports_decryption: true,
    supports_derivation: false,
    supports_signing: false,
    auto_rotate_period: 0,
    imported_key: false,
  };
}

/**
 * `body` without a `name` member equal to the path's key name (clients such as node-vault send
 * the path parameters in the body too, and OpenBao/Vault accept that).
 *
 * @throws {ParseError} naming `name` when it names another key than the path
 */
function withoutPathName(body: unknown, name: string): unknown {
  if (body === null || typeof body !== "object" || Array.isArray(body) || !("name" in body)) {
    return body;
  }
  const { name: given, ...rest } = body as Record<string, unknown>;
  if (given !== name) throw new ParseError("name", "differs from the key name in the path");
  return rest;
}

/** Runs a routed request for an authorised caller. */
async function runTransitOperation(
  view: TransitView,
  rings: TransitKeyRings,
  client: TransitClient,
  route: TransitRoute,
  body: unknown,
): Promise<TransitHttpAnswer> {
  const key: TransitKeyId = resolveKeyName(route.name, client.workloadSecretId);
  body = withoutPathName(body, route.name);
  const ring = rings.ring(view, key);
  const envelope = (answer: TransitAnswer): TransitHttpAnswer => ({
    status: answer.status,
    body: vaultEnvelope(answer.data),
  });
  switch (route.operation) {
    case "encrypt":
      return envelope(await transitEncrypt(ring, parseEncryptRequest(body)));
    case "decrypt":
      return envelope(await transitDecrypt(ring, parseDecryptRequest(body)));
    case "rewrap":
      return envelope(await transitRewrap(ring, parseRewrapRequest(body)));
    case "read-key":
      return { status: 200, body: vaultEnvelope(keyInfo(route.name, ring.latestVersion)) };
    case "create-key":
      parseCreateKeyRequest(body);
      return { status: 204 };
    case "rotate-key":
      throw new MethodNotAllowedError(
        "rotate",
        `keys rotate with every manifest update (contrast set): version ${ring.latestVersion} ` +
          "is the current manifest generation; earlier versions still decrypt",
      );
    case "delete-key":
      throw new MethodNotAllowedError("delete", "deletion is not allowed for this key");
  }
}

/**
 * The whole request: view (503 without an active manifest), caller (403), operation.
 *
 * @param authorize returns the caller for this view (cached per connection by the server)
 */
export async function handleTransitRequest(options: {
  readonly view: TransitView | undefined;
  readonly rings: TransitKeyRings;
  readonly route: TransitRoute;
  readonly readBody: () => Promise<unknown>;
  readonly authorize: (view: TransitView) => Promise<TransitClient>;
  /**
   * Whether `view` is still the active state's (checked after the operation, before answering):
   * an update that became active meanwhile may have removed the caller's policy.
   */
  readonly stillCurrent: (view: TransitView) => boolean;
}): Promise<TransitHttpAnswer & { client?: TransitClient }> {
  const { view } = options;
  if (!view) {
    throw new TransitUnavailableError(
      "",
      "the Coordinator has no active manifest (not set yet, or waiting for recovery)",
    );
  }
  const client = await options.authorize(view);
  // Only an authorised caller's body is read and parsed: a stranger's costs nothing.
  const body = await options.readBody();
  const answer = await runTransitOperation(view, options.rings, client, options.route, body);
  // The caller was authorised against `view` before its body was read, and the caller decides how
  // long that takes (up to the request timeout): an update acknowledged meanwhile may have removed
  // its policy. Nothing is answered from a replaced state (as for mesh certificates).
  if (!options.stillCurrent(view)) {
    throw new ConflictError(
      "manifest",
      "the active manifest changed while this request was served: send it again",
    );
  }
  return { ...answer, client };
}
