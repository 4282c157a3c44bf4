/**
 * OCI content digests (`sha256:<64 lowercase hex>`): parsing, computing and verifying. Every
 * blob and manifest contrast reads is checked against its digest before it is used.
 *
 * @module
 */
import { constantTimeEqual, decodeHex, encodeHex, sha256 } from "../util/bytes/mod.ts";
import { createHash } from "node:crypto";
import { ParseError, VerificationError } from "../util/errors/mod.ts";

/** A parsed sha256 content digest. */
interface Digest {
  /** `sha256:<hex>`. */
  readonly text: string;
  /** The 64 lowercase hex characters. */
  readonly hex: string;
  /** The 32 digest bytes. */
  readonly bytes: Uint8Array;
}

const SHA256_DIGEST = /^sha256:([0-9a-f]{64})$/;
const ANY_DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/**
 * Parses a digest. Only sha256 is supported (it is what every registry uses).
 *
 * @throws {ParseError} naming `field` when the text is not a sha256 digest
 */
export function parseDigest(text: string, field = "digest"): Digest {
  const m = SHA256_DIGEST.exec(text);
  if (!m) {
    if (ANY_DIGEST.test(text) && !text.startsWith("sha256:")) {
      throw new ParseError(
        field,
        `unsupported digest algorithm ${JSON.stringify(text.split(":")[0])} (only sha256)`,
      );
    }
    throw new ParseError(field, `invalid digest ${JSON.stringify(text)} (want sha256:<64 hex>)`);
  }
  return { text, hex: m[1]!, bytes: decodeHex(m[1]!) };
}

/** The sha256 digest of `data` as `sha256:<hex>`. */
export async function digestOf(data: Uint8Array): Promise<string> {
  return `sha256:${encodeHex(await sha256(data))}`;
}

/**
 * Checks that `actual` (a sha256) is the digest `expected` names (constant-time comparison).
 *
 * @throws {VerificationError} naming `field` when it is not
 */
export function expectDigest(actual: Uint8Array, expected: Digest, field: string): void {
  if (!constantTimeEqual(actual, expected.bytes)) {
    throw new VerificationError(
      field,
      `content does not match its digest (expected ${expected.text}, got sha256:${
        encodeHex(actual)
      })`,
    );
  }
}

/**
 * Checks that `data` has the digest `expected` (constant-time comparison).
 *
 * @throws {VerificationError} naming `field` when it does not
 */
export async function verifyDigest(
  data: Uint8Array,
  expected: Digest,
  field: string,
): Promise<void> {
  expectDigest(await sha256(data), expected, field);
}

/** An incremental sha256 (native, via `node:crypto`: ten times faster than a JS one). */
interface IncrementalSha256 {
  /** Adds bytes. */
  update(data: Uint8Array): void;
  /** The digest of everything added (call once). */
  digest(): Uint8Array;
}

/** Starts an incremental sha256. */
export function createSha256(): IncrementalSha256 {
  const hash = createHash("sha256");
  return {
    update(data) {
      hash.update(data);
    },
    digest() {
      return new Uint8Array(hash.digest());
    },
  };
}

/**
 * A pass-through stream that computes the sha256 of everything flowing through it and, at the
 * end, checks it against `expected` (constant-time); a mismatch errors the stream with a
 * {@link VerificationError} naming `field`.
 */
export function verifyingStream(
  expected: Digest,
  field: string,
): TransformStream<Uint8Array, Uint8Array> {
  const hash = createSha256();
  return new TransformStream({
    transform(chunk, controller) {
      hash.update(chunk);
      controller.enqueue(chunk);
    },
    flush() {
      expectDigest(hash.digest(), expected, field);
    },
  });
}
