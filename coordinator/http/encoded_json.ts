/**
 * A JSON answer body that a handler has already serialised (UTF-8), sent as it is instead of
 * through `JSON.stringify`: for answers whose large parts change rarely and are serialised once
 * (the Coordinator's `/attest`, `coordinator.ts`).
 *
 * @module
 */

/**
 * UTF-8 bytes of one JSON value, to be sent as an `application/json` body unchanged. The handler
 * that builds it is responsible for its being valid JSON.
 *
 * @example An answer serialised ahead of time
 * ```ts
 * import { EncodedJson } from "./encoded_json.ts";
 *
 * const body = new EncodedJson(new TextEncoder().encode('{"ok":true}'));
 * console.log(JSON.parse(new TextDecoder().decode(body.bytes)).ok); // true
 * ```
 */
export class EncodedJson {
  /** The serialised value. */
  readonly bytes: Uint8Array;
  /**
   * Whether the value holds a secret (the mesh answer's workload secret): the connection layer
   * zeroes {@link bytes}, and the bytes it wrote them in, once they are written or dropped.
   */
  readonly sensitive: boolean;

  constructor(bytes: Uint8Array, options: { readonly sensitive?: boolean } = {}) {
    this.bytes = bytes;
    this.sensitive = options.sensitive ?? false;
  }
}
