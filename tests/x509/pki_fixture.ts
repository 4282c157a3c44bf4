/**
 * Test PKI: generates keys, certificates and CRLs with `@peculiar/x509` so chain and CRL checks
 * can be exercised on every rejection path (not for production use).
 *
 * @module
 */
import "reflect-metadata";
import * as px from "@peculiar/x509";
import { type Certificate, parseCertificate } from "../../x509/certificate.ts";
import { type Crl, parseCrl } from "../../x509/crl.ts";

/** Key types the fixture generates. */
type KeyKind = "P-256" | "P-384" | "RSA-PSS" | "RSA-PKCS1" | "Ed25519";

/** A key pair and how it signs. */
interface SigningKeys {
  readonly kind: KeyKind;
  readonly keys: CryptoKeyPair;
  readonly signingAlgorithm: Algorithm | EcdsaParams | RsaPssParams;
}

/** Generates a key pair of `kind` (RSA keys are 2048 bits to keep tests fast). */
export async function makeKeys(kind: KeyKind): Promise<SigningKeys> {
  switch (kind) {
    case "P-256":
    case "P-384": {
      const hash = kind === "P-256" ? "SHA-256" : "SHA-384";
      const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: kind }, true, [
        "sign",
        "verify",
      ]) as CryptoKeyPair;
      return { kind, keys, signingAlgorithm: { name: "ECDSA", hash } as EcdsaParams };
    }
    case "RSA-PSS":
    case "RSA-PKCS1": {
      const name = kind === "RSA-PSS" ? "RSA-PSS" : "RSASSA-PKCS1-v1_5";
      const keys = await crypto.subtle.generateKey(
        {
          name,
          modulusLength: 2048,
          publicExponent: new Uint8Array([1, 0, 1]),
          hash: "SHA-384",
        },
        true,
        ["sign", "verify"],
      ) as CryptoKeyPair;
      const signingAlgorithm = kind === "RSA-PSS"
        ? { name, saltLength: 48, hash: "SHA-384" } as RsaPssParams
        : { name, hash: "SHA-384" } as Algorithm;
      return { kind, keys, signingAlgorithm };
    }
    case "Ed25519": {
      const keys = await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
        "sign",
        "verify",
      ]) as CryptoKeyPair;
      return { kind, keys, signingAlgorithm: { name: "Ed25519" } };
    }
  }
}

/** A generated certificate with its keys. */
export interface Issued {
  readonly cert: Certificate;
  readonly keys: SigningKeys;
  readonly name: string;
}

/** Options of {@link issue}. */
export interface IssueOptions {
  /** Common name of the subject. */
  readonly cn: string;
  /** Field name the parsed certificate gets. */
  readonly field?: string;
  /** The subject's keys. */
  readonly keys: SigningKeys;
  /** The issuer; self-signed when absent. */
  readonly issuer?: Issued;
  /** Issuer name override (to forge a name without the key). */
  readonly issuerName?: string;
  /** Key that signs instead of the issuer's (for wrong-key tests). */
  readonly signWith?: SigningKeys;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /** basicConstraints; omitted when undefined. */
  readonly ca?: boolean;
  readonly pathLength?: number;
  /** keyUsage flags; omitted when undefined. */
  readonly keyUsage?: px.KeyUsageFlags;
  readonly serialNumber?: string;
  readonly extraExtensions?: px.Extension[];
}

/** Default validity: 2020 to 2040. */
export const FROM = new Date("2020-01-01T00:00:00Z");
/** End of the default validity. */
export const UNTIL = new Date("2040-01-01T00:00:00Z");

/** Issues a certificate. */
export async function issue(options: IssueOptions): Promise<Issued> {
  const name = `CN=${options.cn}, O=contrast test`;
  const signer = options.signWith ?? options.issuer?.keys ?? options.keys;
  const extensions: px.Extension[] = [];
  if (options.ca !== undefined) {
    extensions.push(new px.BasicConstraintsExtension(options.ca, options.pathLength, true));
  }
  if (options.keyUsage !== undefined) {
    extensions.push(new px.KeyUsagesExtension(options.keyUsage, true));
  }
  extensions.push(...(options.extraExtensions ?? []));
  const x509 = await px.X509CertificateGenerator.create({
    serialNumber: options.serialNumber ??
      "0a" + crypto.randomUUID().replaceAll("-", "").slice(0, 14),
    subject: name,
    issuer: options.issuerName ?? options.issuer?.name ?? name,
    notBefore: options.notBefore ?? FROM,
    notAfter: options.notAfter ?? UNTIL,
    publicKey: options.keys.keys.publicKey,
    signingKey: signer.keys.privateKey,
    signingAlgorithm: signer.signingAlgorithm,
    extensions,
  });
  const cert = parseCertificate(new Uint8Array(x509.rawData), options.field ?? options.cn);
  return { cert, keys: options.keys, name };
}

/** A root CA (CA:true, keyCertSign|cRLSign). */
export async function makeRoot(cn: string, kind: KeyKind): Promise<Issued> {
  return issue({
    cn,
    keys: await makeKeys(kind),
    ca: true,
    keyUsage: px.KeyUsageFlags.keyCertSign | px.KeyUsageFlags.cRLSign,
  });
}

/** Options of {@link makeCrl}. */
interface CrlOptions {
  readonly issuer: Issued;
  readonly signWith?: SigningKeys;
  readonly thisUpdate?: Date;
  readonly nextUpdate?: Date | null;
  readonly revoked?: readonly string[];
  readonly field?: string;
  /** Extra CRL extensions. */
  readonly extensions?: px.Extension[];
  /** Extensions put on every entry. */
  readonly entryExtensions?: px.Extension[];
}

/** Generates a CRL of `issuer`. `nextUpdate: null` leaves it out. */
export async function makeCrl(options: CrlOptions): Promise<Crl> {
  const signer = options.signWith ?? options.issuer.keys;
  const crl = await px.X509CrlGenerator.create({
    issuer: options.issuer.name,
    thisUpdate: options.thisUpdate ?? FROM,
    nextUpdate: options.nextUpdate === null ? undefined : options.nextUpdate ?? UNTIL,
    signingKey: signer.keys.privateKey,
    signingAlgorithm: signer.signingAlgorithm,
    extensions: options.extensions,
    entries: (options.revoked ?? []).map((serialNumber) => ({
      serialNumber,
      revocationDate: FROM,
      reason: px.X509CrlReason.keyCompromise,
      extensions: options.entryExtensions,
    })),
  });
  return parseCrl(new Uint8Array(crl.rawData), options.field ?? "crl");
}

/**
 * Certificates built to make a path search branch: `perLevel` CA certificates at each of `levels`
 * levels, all of one level sharing a name and key and each signed by the next level's key, so
 * every link between neighbouring levels verifies but no path reaches a root; plus a leaf under
 * the first level. Without a bound, a search tries perLevel^levels paths.
 */
export async function lookAlikeFanOut(
  levels: number,
  perLevel: number,
): Promise<{ leaf: Issued; pool: Issued[] }> {
  const keys: SigningKeys[] = [];
  for (let i = 0; i <= levels + 1; i++) keys.push(await makeKeys("P-256"));
  // The issuer of level i: only its name and keys matter for signing.
  const issuerOf = (i: number): Issued => ({
    cert: undefined as unknown as Certificate,
    keys: keys[i]!,
    name: `CN=look-alike ${i}, O=contrast test`,
  });
  const pool: Issued[] = [];
  for (let i = 1; i <= levels; i++) {
    for (let k = 0; k < perLevel; k++) {
      pool.push(
        await issue({ cn: `look-alike ${i}`, keys: keys[i]!, issuer: issuerOf(i + 1), ca: true }),
      );
    }
  }
  const leaf = await issue({ cn: "leaf", field: "leaf", keys: keys[0]!, issuer: issuerOf(1) });
  return { leaf, pool };
}
