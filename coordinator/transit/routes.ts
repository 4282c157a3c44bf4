/**
 * The transit API's paths, as OpenBao/Vault's transit engine mounted at `transit/` names them:
 *
 * | method          | path                                   | operation                        |
 * | --------------- | -------------------------------------- | -------------------------------- |
 * | POST/PUT        | `/v1/transit/encrypt/<name>`           | encrypt (single or batch)        |
 * | POST/PUT        | `/v1/transit/decrypt/<name>`           | decrypt (single or batch)        |
 * | POST/PUT        | `/v1/transit/rewrap/<name>`            | re-encrypt with the latest key   |
 * | GET             | `/v1/transit/keys/<name>`              | read the key's versions          |
 * | POST/PUT        | `/v1/transit/keys/<name>`              | create (keys exist: no-op)       |
 * | POST/PUT        | `/v1/transit/keys/<name>/rotate`       | refused: rotation is `set`       |
 * | DELETE          | `/v1/transit/keys/<name>`              | refused: deletion is not allowed |
 *
 * `<name>` may contain slashes (default WorkloadSecretIDs do) and percent-escapes.
 *
 * @module
 */
import { ParseError } from "../../util/errors/mod.ts";
import { NotFoundError } from "../../protocol/errors.ts";

/** The operations of the transit API. */
type TransitOperation =
  | "encrypt"
  | "decrypt"
  | "rewrap"
  | "read-key"
  | "create-key"
  | "rotate-key"
  | "delete-key";

/** A routed request. */
export interface TransitRoute {
  /** What to do. */
  readonly operation: TransitOperation;
  /** The key name, percent-decoded. */
  readonly name: string;
}

/** Path prefix of the engine. */
const TRANSIT_PREFIX = "/v1/transit/";

/** An operation the path names but the method does not fit (HTTP 405). */
export class MethodNotAllowedError extends ParseError {}

function decodeName(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch (cause) {
    throw new ParseError("name", "malformed percent-escape in the key name", { cause });
  }
}

/**
 * Routes `method` and `path` (without the query string).
 *
 * @throws {NotFoundError} for paths outside the engine's operations
 * @throws {MethodNotAllowedError} for a method the path does not support
 */
export function routeTransit(method: string, path: string): TransitRoute {
  if (!path.startsWith(TRANSIT_PREFIX)) throw new NotFoundError("path", `no handler for ${path}`);
  const rest = path.slice(TRANSIT_PREFIX.length);
  const slash = rest.indexOf("/");
  const head = slash < 0 ? rest : rest.slice(0, slash);
  const tail = slash < 0 ? "" : rest.slice(slash + 1);
  const write = method === "POST" || method === "PUT";
  if (tail === "") throw new NotFoundError("path", `no handler for ${path} (key name missing)`);
  if (head === "encrypt" || head === "decrypt" || head === "rewrap") {
    if (!write) throw new MethodNotAllowedError("method", `${method} is not supported here`);
    return { operation: head, name: decodeName(tail) };
  }
  if (head === "keys") {
    if (tail.endsWith("/rotate")) {
      if (!write) throw new MethodNotAllowedError("method", `${method} is not supported here`);
      return { operation: "rotate-key", name: decodeName(tail.slice(0, -"/rotate".length)) };
    }
    if (method === "GET") return { operation: "read-key", name: decodeName(tail) };
    if (write) return { operation: "create-key", name: decodeName(tail) };
    if (method === "DELETE") return { operation: "delete-key", name: decodeName(tail) };
    throw new MethodNotAllowedError("method", `${method} is not supported here`);
  }
  throw new NotFoundError(
    "path",
    `no handler for ${path}: contrast serves encrypt, decrypt, ` +
      "rewrap and keys of the transit engine",
  );
}
