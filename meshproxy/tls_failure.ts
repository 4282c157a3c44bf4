/**
 * Names why a TLS handshake failed, for the `meshproxy_handshake_failures_total` metric and
 * the log. Deno's `node:tls` (rustls underneath) reports some refusals only as a reset
 * connection; those are counted as `rejected_or_aborted` rather than guessed at.
 *
 * @module
 */

/** The reasons a handshake failure is counted under. */
type HandshakeFailureReason =
  | "no_client_certificate"
  | "untrusted_certificate"
  | "expired_certificate"
  | "san_mismatch"
  | "rejected_or_aborted"
  | "peer_refused"
  | "timeout"
  | "not_tls"
  | "other";

/** Classifies an error from a failed TLS handshake (server or client side). */
export function handshakeFailureReason(error: unknown): HandshakeFailureReason {
  const e = error as { code?: string; message?: string };
  const code = e?.code ?? "";
  const text = `${code} ${e?.message ?? ""}`.toLowerCase();
  if (code === "ERR_MESH_SAN_MISMATCH" || /altname|notvalidforname|san_mismatch/.test(text)) {
    return "san_mismatch";
  }
  if (code === "ERR_MESH_UNTRUSTED_SERVER") return "untrusted_certificate";
  if (/did_not_return_a_certificate|no certificates|certificate_?required/.test(text)) {
    return "no_client_certificate";
  }
  if (/expired|notvalidyet|not yet valid/.test(text)) return "expired_certificate";
  if (
    /unknownissuer|unknown.?ca|unable_to_get_issuer|unable_to_verify|self.signed|badsignature|bad certificate|invalid peer certificate|certificate verify failed/
      .test(text)
  ) return "untrusted_certificate";
  if (/timeout|timed out/.test(text)) return "timeout";
  if (/received fatal alert/.test(text)) return "peer_refused";
  if (
    /corrupt message|invalidcontenttype|wrong version|invalid content type|http request|record overflow|invalidmessage|peer is incompatible|peerincompatible/
      .test(text)
  ) {
    return "not_tls";
  }
  if (/econnreset|socket hang up|epipe|close_notify|unexpected eof|eof/.test(text)) {
    return "rejected_or_aborted";
  }
  return "other";
}
