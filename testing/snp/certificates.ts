/**
 * Issues vendor-like SEV-SNP certificates for the simulated authority: an RSA-PSS (SHA-384)
 * ARK and ASK with AMD's naming scheme and CA extensions, and P-384 VCEKs carrying the AMD
 * extensions (structVersion, productName, blSPL/teeSPL/snpSPL/spl4–7/ucodeSPL, fmcSPL on Turin,
 * hwID). Subjects say "simulated" in their organisation so nobody mistakes them for AMD's.
 *
 * @module
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import type { SnpProductName } from "../../snp/abi/product.ts";
import type { SnpTcbParts } from "../../snp/abi/tcb.ts";
import { AMD_VEK_OID } from "../../snp/verify/vek_extensions.ts";
import { encodeElement, encodeSmallInteger, Tag } from "../../x509/der.ts";

/** RSA-PSS with SHA-384, MGF1-SHA-384 and a 48-byte salt: the AMD ARK/ASK signature scheme. */
export const RSA_PSS_SHA384 = { name: "RSA-PSS", hash: "SHA-384", saltLength: 48 } as const;

const ORG = "O=contrast simulated SEV-SNP (not AMD), L=Santa Clara, ST=CA, C=US";

/** Parameters of an RSA-PSS key pair of `bits`. */
export function rsaPssKeyParams(bits: number): RsaHashedKeyGenParams {
  return {
    name: "RSA-PSS",
    hash: "SHA-384",
    modulusLength: bits,
    publicExponent: new Uint8Array([1, 0, 1]),
  };
}

const CA_EXTENSIONS = () => [
  new x509.BasicConstraintsExtension(true, undefined, true),
  new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
];

/** A self-signed ARK for `product`. */
export async function issueArk(
  product: SnpProductName,
  keys: CryptoKeyPair,
  notBefore: Date,
): Promise<x509.X509Certificate> {
  return await x509.X509CertificateGenerator.create({
    serialNumber: "01",
    subject: `CN=ARK-${product}, OU=Engineering, ${ORG}`,
    issuer: `CN=ARK-${product}, OU=Engineering, ${ORG}`,
    notBefore,
    notAfter: new Date(notBefore.getTime() + 25 * 365 * 86400_000),
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    signingAlgorithm: RSA_PSS_SHA384,
    extensions: CA_EXTENSIONS(),
  });
}

/** An ASK for `product`, signed by the ARK. */
export async function issueAsk(
  product: SnpProductName,
  askPublicKey: CryptoKey,
  arkPrivateKey: CryptoKey,
  notBefore: Date,
): Promise<x509.X509Certificate> {
  return await x509.X509CertificateGenerator.create({
    serialNumber: "02",
    subject: `CN=SEV-${product}, OU=Engineering, ${ORG}`,
    issuer: `CN=ARK-${product}, OU=Engineering, ${ORG}`,
    notBefore,
    notAfter: new Date(notBefore.getTime() + 25 * 365 * 86400_000),
    publicKey: askPublicKey,
    signingKey: arkPrivateKey,
    signingAlgorithm: RSA_PSS_SHA384,
    extensions: CA_EXTENSIONS(),
  });
}

/** Input of {@link issueVcek}. */
interface VcekParams {
  /** Product line. */
  readonly product: SnpProductName;
  /** The chip's hwID (64 bytes; 8 bytes on Turin). */
  readonly hwId: Uint8Array;
  /** The TCB the VCEK is for. */
  readonly tcb: SnpTcbParts;
  /** The VCEK's P-384 public key. */
  readonly publicKey: CryptoKey;
  /** The ASK's private key. */
  readonly askPrivateKey: CryptoKey;
  /** Start of validity; the VCEK is valid for 7 years like AMD's. */
  readonly notBefore: Date;
  /** Serial number, hex. */
  readonly serialNumber: string;
}

/** A VCEK with the AMD extensions, signed by the ASK. */
export async function issueVcek(p: VcekParams): Promise<x509.X509Certificate> {
  const turin = p.product === "Turin";
  const ext = (oid: string, value: Uint8Array) =>
    new x509.Extension(oid, false, value as Uint8Array<ArrayBuffer>);
  const extensions = [
    ext(AMD_VEK_OID.structVersion, encodeSmallInteger(turin ? 1 : 0)),
    ext(
      AMD_VEK_OID.productName,
      encodeElement(
        Tag.ia5String,
        new TextEncoder().encode(turin ? "Turin" : p.product === "Milan" ? "Milan-B0" : "Genoa"),
      ),
    ),
    ...(turin ? [ext(AMD_VEK_OID.fmcSPL, encodeSmallInteger(p.tcb.fmc ?? 0))] : []),
    ext(AMD_VEK_OID.blSPL, encodeSmallInteger(p.tcb.bootloader)),
    ext(AMD_VEK_OID.teeSPL, encodeSmallInteger(p.tcb.tee)),
    ext(AMD_VEK_OID.snpSPL, encodeSmallInteger(p.tcb.snp)),
    ...(turin ? [] : [ext(AMD_VEK_OID.spl4, encodeSmallInteger(0))]),
    ext(AMD_VEK_OID.spl5, encodeSmallInteger(0)),
    ext(AMD_VEK_OID.spl6, encodeSmallInteger(0)),
    ext(AMD_VEK_OID.spl7, encodeSmallInteger(0)),
    ext(AMD_VEK_OID.ucodeSPL, encodeSmallInteger(p.tcb.microcode)),
    ext(AMD_VEK_OID.hwID, p.hwId),
  ];
  return await x509.X509CertificateGenerator.create({
    serialNumber: p.serialNumber,
    subject: `CN=SEV-VCEK, OU=Engineering, ${ORG}`,
    issuer: `CN=SEV-${p.product}, OU=Engineering, ${ORG}`,
    notBefore: p.notBefore,
    notAfter: new Date(p.notBefore.getTime() + 7 * 365 * 86400_000),
    publicKey: p.publicKey,
    signingKey: p.askPrivateKey,
    signingAlgorithm: RSA_PSS_SHA384,
    extensions,
  });
}

/** A cRLNumber extension (2.5.29.20, not critical) holding `n` as a DER INTEGER. */
export function crlNumberExtension(n: bigint): x509.Extension {
  let hex = n.toString(16);
  if (hex.length % 2) hex = "0" + hex;
  if (parseInt(hex.slice(0, 2), 16) & 0x80) hex = "00" + hex;
  const bytes = hex.match(/../g)!.map((b) => parseInt(b, 16));
  return new x509.Extension(
    "2.5.29.20",
    false,
    new Uint8Array([0x02, bytes.length, ...bytes]) as Uint8Array<ArrayBuffer>,
  );
}
