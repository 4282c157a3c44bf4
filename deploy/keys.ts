/**
 * Owner keys of the workspace: the workload owner (P-384 ECDSA, may update the manifest) and the
 * seedshare owner (RSA-4096, receives seed shares). Missing keys are generated; the manifest
 * lists their public keys as hex PKIX DER. Private keys are written with mode 0600 and never
 * logged.
 *
 * @module
 */
import { decodePem, encodeHex, encodePem } from "../util/bytes/mod.ts";
import { ParseError } from "../util/errors/mod.ts";

/** A key pair as contrast stores it. */
export interface OwnerKey {
  /** PKCS#8 PEM of the private key (to write when newly created). */
  readonly privatePem: string;
  /** Hex of the public key's PKIX DER (SubjectPublicKeyInfo). */
  readonly publicHex: string;
  /** Whether the key was generated now (and so must be written). */
  readonly created: boolean;
}

/** The kinds of owner key. */
type OwnerKeyKind = "workload" | "seedshare";

const ALGORITHMS = {
  workload: {
    generate: { name: "ECDSA", namedCurve: "P-384" } as EcKeyGenParams,
    import: { name: "ECDSA", namedCurve: "P-384" } as EcKeyImportParams,
  },
  seedshare: {
    generate: {
      name: "RSA-OAEP",
      modulusLength: 4096,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    } as RsaHashedKeyGenParams,
    import: { name: "RSA-OAEP", hash: "SHA-256" } as RsaHashedImportParams,
  },
} as const;

/** Generates a new owner key of `kind`. */
export async function generateOwnerKey(kind: OwnerKeyKind): Promise<OwnerKey> {
  const pair = await crypto.subtle.generateKey(
    ALGORITHMS[kind].generate,
    true,
    kind === "workload" ? ["sign", "verify"] : ["encrypt", "decrypt"],
  ) as CryptoKeyPair;
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
  return { privatePem: encodePem("PRIVATE KEY", pkcs8), publicHex: encodeHex(spki), created: true };
}

/**
 * Reads a private key PEM (PKCS#8) of `kind` and derives its public key.
 *
 * @throws {ParseError} naming `file` when it is not a key of that kind
 */
export async function readOwnerKey(
  kind: OwnerKeyKind,
  pem: string,
  file: string,
): Promise<OwnerKey> {
  const blocks = decodePem(pem, "PRIVATE KEY", file);
  if (blocks.length !== 1) {
    throw new ParseError(file, "expected exactly one PKCS#8 PRIVATE KEY block");
  }
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey(
      "pkcs8",
      blocks[0]!.der as Uint8Array<ArrayBuffer>,
      ALGORITHMS[kind].import,
      true,
      kind === "workload" ? ["sign"] : ["decrypt"],
    );
  } catch {
    throw new ParseError(
      file,
      kind === "workload" ? "not a P-384 ECDSA private key" : "not an RSA private key",
    );
  }
  const jwk = await crypto.subtle.exportKey("jwk", key);
  delete jwk.d;
  delete jwk.p;
  delete jwk.q;
  delete jwk.dp;
  delete jwk.dq;
  delete jwk.qi;
  jwk.key_ops = kind === "workload" ? ["verify"] : ["encrypt"];
  const pub = await crypto.subtle.importKey(
    "jwk",
    jwk,
    ALGORITHMS[kind].import,
    true,
    kind === "workload" ? ["verify"] : ["encrypt"],
  );
  if (kind === "seedshare" && (pub.algorithm as RsaHashedKeyAlgorithm).modulusLength < 2048) {
    throw new ParseError(file, "RSA key shorter than 2048 bits");
  }
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pub));
  return { privatePem: pem, publicHex: encodeHex(spki), created: false };
}

/**
 * Reads a public key file for `--add-*-owner-key`: a PEM `PUBLIC KEY` (SPKI) or a private key
 * PEM, returning the hex SPKI.
 *
 * @throws {ParseError} naming the file when it holds no usable key of that kind
 */
export async function readPublicKeyFile(
  kind: OwnerKeyKind,
  text: string,
  file: string,
): Promise<string> {
  const pub = decodePem(text, "PUBLIC KEY", file);
  if (pub.length > 0) {
    try {
      await crypto.subtle.importKey(
        "spki",
        pub[0]!.der as Uint8Array<ArrayBuffer>,
        ALGORITHMS[kind].import,
        true,
        kind === "workload" ? ["verify"] : ["encrypt"],
      );
    } catch {
      throw new ParseError(
        file,
        kind === "workload" ? "not a P-384 ECDSA public key" : "not an RSA public key",
      );
    }
    return encodeHex(pub[0]!.der);
  }
  return (await readOwnerKey(kind, text, file)).publicHex;
}
