import "reflect-metadata";
import assert from "node:assert/strict";
import tls from "node:tls";
import type { AddressInfo } from "node:net";
import { createAttestedTlsIdentity, generateTlsKeyPair } from "../../atls/certificate.ts";
import {
  ChannelBindingError,
  clientChannelBinding,
  serverChannelBinding,
} from "../../atls/channel_binding.ts";
import { VerificationError } from "../../util/errors/mod.ts";
import { encodeHex } from "../../util/bytes/mod.ts";
import { whyNoOpenssl } from "../helpers/openssl.ts";

/** A TLS server that hands each accepted connection's binding (or error) to `seen`. */
async function bindingServer(options: tls.TlsOptions = {}) {
  const id = await createAttestedTlsIdentity(await generateTlsKeyPair(), undefined);
  const seen: (Uint8Array | unknown)[] = [];
  const server = tls.createServer({ key: id.keyPem, cert: id.certPem, ...options }, (socket) => {
    try {
      seen.push(serverChannelBinding(socket));
    } catch (error) {
      seen.push(error);
    }
    socket.end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Connects with `options` and returns the client's binding (or its error) once secured. */
function connectAndBind(port: number, options: tls.ConnectionOptions = {}) {
  return new Promise<Uint8Array | unknown>((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false, ...options });
    socket.once("secureConnect", () => {
      let result: Uint8Array | unknown;
      try {
        result = clientChannelBinding(socket);
      } catch (error) {
        result = error;
      }
      socket.on("data", () => {});
      socket.once("close", () => resolve(result));
    });
    socket.once("error", reject);
  });
}

const isChannelBindingError = (e: unknown) =>
  e instanceof ChannelBindingError && e instanceof VerificationError &&
  e.field === "channelBinding";

Deno.test({
  name:
    "both ends of a TLS 1.3 connection get the same 32 bytes; another connection gets other bytes",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const s = await bindingServer();
    try {
      const first = await connectAndBind(s.port);
      const second = await connectAndBind(s.port, { minVersion: "TLSv1.3" });
      assert.ok(first instanceof Uint8Array && second instanceof Uint8Array);
      assert.equal(first.length, 32);
      assert.deepEqual(s.seen, [first, second]);
      assert.notDeepEqual(first, second);
    } finally {
      await s.close();
    }
  },
});

Deno.test({
  name: "a TLS 1.2 connection has no channel binding, on either end",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const s = await bindingServer();
    try {
      const client = await connectAndBind(s.port, { maxVersion: "TLSv1.2" });
      assert.ok(isChannelBindingError(client), String(client));
      assert.match(String(client), /TLSv1\.2; TLSv1\.3 is required/);
      assert.equal(s.seen.length, 1);
      assert.ok(isChannelBindingError(s.seen[0]), String(s.seen[0]));
    } finally {
      await s.close();
    }
  },
});

Deno.test("a socket without the exporter value, or with one of another length, is refused", () => {
  const tls13 = (value: Uint8Array | undefined) => ({
    getProtocol: () => "TLSv1.3",
    getFinished: () => value,
    getPeerFinished: () => value,
  });
  for (const value of [undefined, new Uint8Array(12), new Uint8Array(48)]) {
    assert.throws(() => serverChannelBinding(tls13(value)), isChannelBindingError);
    assert.throws(() => clientChannelBinding(tls13(value)), isChannelBindingError);
  }
  // Before the handshake finished: no protocol yet.
  const early = { getProtocol: () => null, getFinished: () => undefined };
  assert.throws(() => serverChannelBinding(early), /handshake not finished/);
  // The value is copied: the runtime's buffer is not handed out.
  const buffer = new Uint8Array(32).fill(5);
  const bound = serverChannelBinding(tls13(buffer));
  buffer.fill(0);
  assert.deepEqual(bound, new Uint8Array(32).fill(5));
});

Deno.test({
  name:
    "the binding is the RFC 8446 exporter with label EXPORTER_DENO_TLS_FINISHED_SERVER (checked against openssl s_client)",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const why = await whyNoOpenssl();
    if (why) {
      console.warn(`\n!!! SKIPPED exporter test: no openssl (${why}) !!!\n`);
      return;
    }
    const s = await bindingServer();
    try {
      // A client outside Deno and rustls computes the TLS 1.3 exporter of its connection itself.
      const out = await new Deno.Command("openssl", {
        args: [
          "s_client",
          "-connect",
          `127.0.0.1:${s.port}`,
          "-tls1_3",
          "-keymatexport",
          "EXPORTER_DENO_TLS_FINISHED_SERVER",
          "-keymatexportlen",
          "32",
        ],
        stdin: "null",
        stdout: "piped",
        stderr: "null",
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      const exported = /Keying material: ([0-9A-Fa-f]{64})/.exec(text)?.[1];
      assert.ok(exported, text);
      assert.equal(s.seen.length, 1);
      assert.ok(s.seen[0] instanceof Uint8Array, String(s.seen[0]));
      assert.equal(encodeHex(s.seen[0]), exported.toLowerCase());
    } finally {
      await s.close();
    }
  },
});
