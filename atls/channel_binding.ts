/**
 * The TLS channel binding of one connection: a 32-byte value both ends of a TLS 1.3 connection
 * compute and nobody else can, which an initializer binds in its evidence (`contrast/mesh/v2`,
 * `protocol/report_data.ts`) instead of a challenge nonce. The Coordinator then knows that the
 * evidence was made for exactly the connection the request arrived on.
 *
 * The value is a TLS 1.3 exporter (RFC 8446 §7.5): Deno 2.9.6's `node:tls` has no
 * `exportKeyingMaterial`, but its `TLSSocket.getFinished()` (server) and `getPeerFinished()`
 * (client) both return rustls' `export_keying_material` of 32 bytes with the label
 * `EXPORTER_DENO_TLS_FINISHED_SERVER` and no context (`ext/node/ops/tls_wrap.rs`, `get_finished`;
 * `get_peer_finished` uses the peer role's label, so the two ends agree; that the value is the
 * standard exporter is checked against `openssl s_client -keymatexport` in
 * `tests/atls/channel_binding_test.ts`). An exporter is derived
 * from the `exporter_master_secret`, which depends on the ECDHE secret and on the whole handshake
 * transcript including both fresh randoms: every TLS 1.3 connection has its own, also a resumed
 * one, and only its two ends know it (RFC 9266 `tls-exporter`). A relay that opens its own
 * connection to the Coordinator gets another value; one that would sit inside the pod's
 * connection would have to present the Coordinator's attested TLS key, which the pod pins.
 *
 * TLS 1.3 only: a TLS 1.2 exporter is not unique without the extended master secret (a
 * man in the middle can give two connections one master secret, the triple handshake attack),
 * and the TLS 1.2 `Finished` values are not secret. Both functions refuse any other version.
 *
 * A peer on Node.js (OpenSSL) would give its `Finished` message here instead of the exporter, so
 * its value never matches a Deno peer's: the evidence then does not bind the Coordinator's value
 * and the request is refused (fail closed), it never succeeds with a weaker binding. (Measured
 * against this module's server side: Node 20's `getPeerFinished()` gave the 48-byte `Finished`
 * of a SHA-384 suite, while its `exportKeyingMaterial(32, "EXPORTER_DENO_TLS_FINISHED_SERVER")`
 * equalled the Deno server's value: a non-Deno client has to use the exporter by name.)
 *
 * @example
 * ```ts
 * import { ChannelBindingError, serverChannelBinding } from "./channel_binding.ts";
 *
 * const plain = { getProtocol: () => "TLSv1.2", getFinished: () => new Uint8Array(32) };
 * try {
 *   serverChannelBinding(plain);
 * } catch (e) {
 *   console.assert(e instanceof ChannelBindingError && e.field === "channelBinding");
 * }
 * ```
 *
 * @module
 */
import { VerificationError } from "../util/errors/mod.ts";
import { CHANNEL_BINDING_LENGTH } from "../protocol/report_data.ts";

/** The TLS version the channel binding requires (as `getProtocol` names it). */
const REQUIRED_PROTOCOL = "TLSv1.3";

/**
 * The connection gives no usable channel binding: not TLS, not TLS 1.3, or the handshake has not
 * finished (field `channelBinding`).
 *
 * @example
 * ```ts
 * import { ChannelBindingError } from "./channel_binding.ts";
 * const error = new ChannelBindingError("plain TCP connection: no TLS channel to bind");
 * console.assert(error.field === "channelBinding");
 * ```
 */
export class ChannelBindingError extends VerificationError {
  constructor(reason: string, options?: ErrorOptions) {
    super("channelBinding", reason, options);
  }
}

/** What the binding reads of a server-side `node:tls` socket. */
interface ServerSocket {
  getProtocol(): string | null;
  getFinished(): Uint8Array | undefined;
}

/** What the binding reads of a client-side `node:tls` socket. */
interface ClientSocket {
  getProtocol(): string | null;
  getPeerFinished(): Uint8Array | undefined;
}

/** `value` (a `Buffer` from the runtime) as a plain 32-byte array, checked. */
function checked(socket: { getProtocol(): string | null }, value: Uint8Array | undefined) {
  const protocol = socket.getProtocol();
  if (protocol !== REQUIRED_PROTOCOL) {
    throw new ChannelBindingError(
      `the connection uses ${protocol ?? "no TLS version (handshake not finished)"}; ` +
        `${REQUIRED_PROTOCOL} is required for a unique channel binding`,
    );
  }
  if (value === undefined || value.length !== CHANNEL_BINDING_LENGTH) {
    throw new ChannelBindingError(
      `the TLS layer gave ${
        value === undefined ? "no exporter value" : `${value.length} bytes`
      } (expected the ${CHANNEL_BINDING_LENGTH}-byte exporter of Deno's node:tls)`,
    );
  }
  return new Uint8Array(value);
}

/**
 * The channel binding of the accepted TLS connection `socket` (the Coordinator's side).
 *
 * @throws {ChannelBindingError} when the connection is not TLS 1.3 or its handshake has not
 *   finished
 * @example
 * ```ts
 * import { serverChannelBinding } from "./channel_binding.ts";
 * const socket = { getProtocol: () => "TLSv1.3", getFinished: () => new Uint8Array(32).fill(7) };
 * console.assert(serverChannelBinding(socket)[0] === 7);
 * ```
 */
export function serverChannelBinding(socket: ServerSocket): Uint8Array {
  return checked(socket, socket.getFinished());
}

/**
 * The channel binding of the client TLS connection `socket` (the initializer's side): equal to
 * the server's {@link serverChannelBinding} of the same connection.
 *
 * @throws {ChannelBindingError} when the connection is not TLS 1.3 or its handshake has not
 *   finished
 * @example
 * ```ts
 * import { clientChannelBinding } from "./channel_binding.ts";
 * const socket = { getProtocol: () => "TLSv1.3", getPeerFinished: () => new Uint8Array(32) };
 * console.assert(clientChannelBinding(socket).length === 32);
 * ```
 */
export function clientChannelBinding(socket: ClientSocket): Uint8Array {
  return checked(socket, socket.getPeerFinished());
}
