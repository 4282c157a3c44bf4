/**
 * A simulated Intel TDX attestation authority for local runs and tests: a vendor-like chain
 * (root CA, PCK Platform CA, PCK certificate with the SGX extension, TCB signing certificate; all
 * ECDSA P-256 like Intel's), a quoting enclave with an attestation key, signed collateral (TCB
 * info, QE identity, root CA CRL, PCK CRL) and byte-exact v4/v5 quotes.
 *
 * Nothing it signs is trusted unless a reference value names its root's SHA-256 fingerprint
 * (`Platform: "Simulated-TDX"`, `SimulatedRootSHA256`).
 *
 * @module
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { ParseError } from "../../util/errors/mod.ts";
import {
  concatBytes,
  decodeBase64,
  encodeBase64,
  encodeHex,
  encodePem,
  sha256,
} from "../../util/bytes/mod.ts";
import { IssueList, ObjectReader } from "../../util/json/mod.ts";
import {
  encodeSgxExtensions,
  parseSgxExtensions,
  type PckSgxExtensions,
  SGX_EXTENSION_OID,
} from "../../tdx/pck/sgx_extensions.ts";
import { CERT_TYPE_PCK_CHAIN, INTEL_QE_VENDOR_ID } from "../../tdx/quote/constants.ts";
import {
  encodeSgxReportBody,
  encodeSignatureData,
  encodeSignedRegion,
  encodeTdxHeader,
} from "../../tdx/quote/encode_quote.ts";
import type { TdxReportBody } from "../../tdx/quote/types.ts";
import type { CollateralTcbStatus } from "../../tdx/collateral/tcb_status.ts";
import type { TdxCollateral } from "../../tdx/verify/collateral_bundle.ts";
import { writeTdxCollateralDir } from "../../tdx/pcs/collateral_dir.ts";
import { decodeHex } from "../../util/bytes/mod.ts";

const EC = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGN = { name: "ECDSA", hash: "SHA-256" } as const;
const DAY = 86_400_000;

/** The QE's identity values the simulated collateral vouches for (Intel's TD QE values). */
const QE = {
  mrSigner: decodeHex("dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5"),
  mrEnclave: new Uint8Array(32).fill(0x5e),
  isvProdId: 2,
  isvSvn: 4,
  attributes: decodeHex("1500000000000000e700000000000000"),
};

/**
 * What a simulated quote contains; every field has a harmless default.
 *
 * @example A v4 quote with a chosen MRTD
 * ```ts
 * import { SimulatedTdxAuthority, type SimulatedQuoteOptions } from "../mod.ts";
 *
 * const authority = await SimulatedTdxAuthority.generate();
 * const options: SimulatedQuoteOptions = {
 *   reportData: new Uint8Array(64),
 *   mrTd: new Uint8Array(48).fill(0x11),
 *   version: 4,
 * };
 * const quote = await authority.createQuote(options);
 * ```
 */
export interface SimulatedQuoteOptions {
  /** REPORTDATA (64 bytes). */
  readonly reportData: Uint8Array;
  /** MRCONFIGID (48 bytes; default zeros). */
  readonly mrConfigId?: Uint8Array;
  /** MRTD (48 bytes; default 0x11…). */
  readonly mrTd?: Uint8Array;
  /** RTMR0..3 (default zeros). */
  readonly rtmrs?: readonly [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  /** TD attributes (8 bytes; default SEPT_VE_DISABLE only, debug off). */
  readonly tdAttributes?: Uint8Array;
  /** XFAM (8 bytes; default e702060000000000). */
  readonly xfam?: Uint8Array;
  /** TEE_TCB_SVN (16 bytes; default module SVN 4, major 1, microcode 3). */
  readonly teeTcbSvn?: Uint8Array;
  /** MRSEAM (48 bytes; default 0x5b…). */
  readonly mrSeam?: Uint8Array;
  /** MROWNER (48 bytes; default zeros). */
  readonly mrOwner?: Uint8Array;
  /** MROWNERCONFIG (48 bytes; default zeros). */
  readonly mrOwnerConfig?: Uint8Array;
  /** Quote version (default 4; 5 uses a TD report 1.5 body). */
  readonly version?: 4 | 5;
}

/**
 * Options of the collateral the authority signs.
 *
 * @example Collateral that reports the platform out of date
 * ```ts
 * import { type SimulatedCollateralOptions, SimulatedTdxAuthority } from "../mod.ts";
 *
 * const authority = await SimulatedTdxAuthority.generate();
 * const options: SimulatedCollateralOptions = { tcbStatus: "OutOfDate", advisoryIds: ["INTEL-SA-00837"] };
 * const collateral = await authority.collateral(options);
 * ```
 */
export interface SimulatedCollateralOptions {
  /** Issue time (default: now). */
  readonly now?: Date;
  /** Status of the platform's TCB level (default UpToDate). */
  readonly tcbStatus?: CollateralTcbStatus;
  /** Advisory IDs on that level. */
  readonly advisoryIds?: readonly string[];
  /** Whether the PCK CRL lists the PCK certificate as revoked. */
  readonly revokePck?: boolean;
  /** Whether the root CA CRL lists the TCB signing certificate as revoked. */
  readonly revokeTcbSigning?: boolean;
  /** TCB evaluation data number (default 17). */
  readonly tcbEvaluationDataNumber?: number;
  /** Days until nextUpdate (default 30). */
  readonly validDays?: number;
  /** Override the FMSPC in the TCB info (to test mismatches). */
  readonly fmspc?: Uint8Array;
}

/**
 * Options of {@link SimulatedTdxAuthority.generate}.
 *
 * @example An authority whose certificates start yesterday
 * ```ts
 * import { SimulatedTdxAuthority, type SimulatedTdxAuthorityOptions } from "../mod.ts";
 *
 * const options: SimulatedTdxAuthorityOptions = { notBefore: new Date(Date.now() - 86_400_000) };
 * const authority = await SimulatedTdxAuthority.generate(options);
 * console.log(await authority.rootFingerprint());
 * ```
 */
export interface SimulatedTdxAuthorityOptions {
  /** Start of the certificates' validity (default: one day ago). */
  readonly notBefore?: Date;
  /** The platform's SGX extension values (default: a TDX-capable platform). */
  readonly pck?: Partial<PckSgxExtensions>;
}

interface KeyAndCert {
  readonly keys: CryptoKeyPair;
  readonly cert: x509.X509Certificate;
}

const DEFAULT_TEE_TCB_SVN = Uint8Array.of(4, 1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

function name(cn: string): string {
  return `CN=${cn}, O=Contrast Simulated TDX, L=Local, ST=None, C=ZZ`;
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return await crypto.subtle.generateKey(EC, true, ["sign", "verify"]) as CryptoKeyPair;
}

function caExtensions(pathLength?: number): x509.Extension[] {
  return [
    new x509.BasicConstraintsExtension(true, pathLength, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
  ];
}

function serial(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[0] = (b[0]! & 0x7f) | 0x01;
  return encodeHex(b);
}

async function rawPublicKey(key: CryptoKey): Promise<Uint8Array> {
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", key));
  return raw.subarray(1); // drop 0x04: x ‖ y
}

async function sign(key: CryptoKey, data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign(SIGN, key, data as Uint8Array<ArrayBuffer>));
}

function hexUpper(b: Uint8Array): string {
  return encodeHex(b).toUpperCase();
}

/**
 * A simulated, vendor-like TDX attestation authority. Create with {@link generate} or {@link load}.
 *
 * @example A quote and its collateral, verified against the simulated root
 * ```ts
 * import { SimulatedTdxAuthority } from "./authority.ts";
 * import { verifyTdxQuote } from "../../tdx/mod.ts";
 *
 * const authority = await SimulatedTdxAuthority.generate();
 * const quote = await authority.createQuote({ reportData: new Uint8Array(64) });
 * const verified = await verifyTdxQuote(quote, {
 *   now: new Date(),
 *   trustAnchors: [await authority.rootFingerprint()],
 *   collateral: await authority.collateral({ now: new Date() }),
 * });
 * console.log(verified.tcb.status);
 * ```
 */
export class SimulatedTdxAuthority {
  readonly #root: KeyAndCert;
  readonly #pckCa: KeyAndCert;
  readonly #pck: KeyAndCert;
  readonly #tcbSigning: KeyAndCert;
  readonly #attestationKey: CryptoKeyPair;
  /** The platform's SGX extension values (as in its PCK certificate). */
  readonly platform: PckSgxExtensions;
  #qeCertification?: Promise<
    { qeReport: Uint8Array; qeReportSignature: Uint8Array; attKey: Uint8Array }
  >;

  private constructor(parts: {
    root: KeyAndCert;
    pckCa: KeyAndCert;
    pck: KeyAndCert;
    tcbSigning: KeyAndCert;
    attestationKey: CryptoKeyPair;
    platform: PckSgxExtensions;
  }) {
    this.#root = parts.root;
    this.#pckCa = parts.pckCa;
    this.#pck = parts.pck;
    this.#tcbSigning = parts.tcbSigning;
    this.#attestationKey = parts.attestationKey;
    this.platform = parts.platform;
  }

  /** Generates a fresh authority (five P-256 keys, four certificates). */
  static async generate(
    options: SimulatedTdxAuthorityOptions = {},
  ): Promise<SimulatedTdxAuthority> {
    const notBefore = options.notBefore ?? new Date(Date.now() - DAY);
    const notAfter = new Date(notBefore.getTime() + 3650 * DAY);
    const platform: PckSgxExtensions = {
      ppid: crypto.getRandomValues(new Uint8Array(16)),
      sgxTcbComponents: [3, 3, 2, 2, 4, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0],
      pceSvn: 13,
      cpuSvn: Uint8Array.of(3, 3, 2, 2, 4, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0),
      pceId: new Uint8Array(2),
      fmspc: decodeHex("90c06f000000"),
      sgxType: 1,
      platformInstanceId: crypto.getRandomValues(new Uint8Array(16)),
      configuration: { dynamicPlatform: true, cachedKeys: true, smtEnabled: true },
      ...options.pck,
    };
    const [rootKeys, caKeys, pckKeys, tcbKeys, attestationKey] = await Promise.all(
      [0, 1, 2, 3, 4].map(() => generateKeys()),
    );
    const root = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: name("Simulated Intel SGX Root CA"),
      notBefore,
      notAfter,
      keys: rootKeys!,
      signingAlgorithm: SIGN,
      extensions: [
        ...caExtensions(1),
        await x509.SubjectKeyIdentifierExtension.create(rootKeys!.publicKey),
      ],
    });
    const issued = async (
      cn: string,
      keys: CryptoKeyPair,
      extensions: x509.Extension[],
      issuer: KeyAndCert,
    ) =>
      await x509.X509CertificateGenerator.create({
        serialNumber: serial(),
        subject: name(cn),
        issuer: issuer.cert.subject,
        notBefore,
        notAfter,
        publicKey: keys.publicKey,
        signingKey: issuer.keys.privateKey,
        signingAlgorithm: SIGN,
        extensions: [
          ...extensions,
          await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
          await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey),
        ],
      });
    const rootKc = { keys: rootKeys!, cert: root };
    const pckCaCert = await issued(
      "Simulated Intel SGX PCK Platform CA",
      caKeys!,
      caExtensions(0),
      rootKc,
    );
    const pckCa = { keys: caKeys!, cert: pckCaCert };
    const pckCert = await issued("Simulated Intel SGX PCK Certificate", pckKeys!, [
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation,
        true,
      ),
      new x509.Extension(
        SGX_EXTENSION_OID,
        false,
        encodeSgxExtensions(platform) as Uint8Array<ArrayBuffer>,
      ),
    ], pckCa);
    const tcbCert = await issued("Simulated Intel SGX TCB Signing", tcbKeys!, [
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation,
        true,
      ),
    ], rootKc);
    return new SimulatedTdxAuthority({
      root: rootKc,
      pckCa,
      pck: { keys: pckKeys!, cert: pckCert },
      tcbSigning: { keys: tcbKeys!, cert: tcbCert },
      attestationKey: attestationKey!,
      platform,
    });
  }

  /** DER of the simulated root CA certificate. */
  get rootCertificateDer(): Uint8Array {
    return new Uint8Array(this.#root.cert.rawData);
  }

  /** SHA-256 fingerprint (lower-case hex) of the root: the `SimulatedRootSHA256` to pin. */
  async rootFingerprint(): Promise<string> {
    return encodeHex(await sha256(this.rootCertificateDer));
  }

  /** PEM of the PCK chain as carried in quotes: PCK certificate, PCK CA, root. */
  pckChainPem(): string {
    return [this.#pck.cert, this.#pckCa.cert, this.#root.cert]
      .map((c) => encodePem("CERTIFICATE", new Uint8Array(c.rawData)))
      .join("");
  }

  /** PEM of the TCB signing chain (the `TCB-Info-Issuer-Chain` header value). */
  tcbSigningChainPem(): string {
    return [this.#tcbSigning.cert, this.#root.cert]
      .map((c) => encodePem("CERTIFICATE", new Uint8Array(c.rawData)))
      .join("");
  }

  /** Serial number (hex) of the PCK certificate. */
  get pckSerialNumber(): string {
    return this.#pck.cert.serialNumber;
  }

  #qe() {
    this.#qeCertification ??= (async () => {
      const attKey = await rawPublicKey(this.#attestationKey.publicKey);
      const authData = this.qeAuthData;
      const binding = await sha256(concatBytes(attKey, authData));
      const qeReport = encodeSgxReportBody({
        cpuSvn: this.platform.cpuSvn,
        miscSelect: 0,
        reserved1: new Uint8Array(28),
        attributes: QE.attributes,
        mrEnclave: QE.mrEnclave,
        reserved2: new Uint8Array(32),
        mrSigner: QE.mrSigner,
        reserved3: new Uint8Array(96),
        isvProdId: QE.isvProdId,
        isvSvn: QE.isvSvn,
        reserved4: new Uint8Array(60),
        reportData: concatBytes(binding, new Uint8Array(32)),
      });
      const qeReportSignature = await sign(this.#pck.keys.privateKey, qeReport);
      return { qeReport, qeReportSignature, attKey };
    })();
    return this.#qeCertification;
  }

  /** QE authentication data carried in quotes (32 bytes, as Intel's QE uses). */
  readonly qeAuthData: Uint8Array = Uint8Array.from({ length: 32 }, (_, i) => i);

  /** Creates a byte-exact, signed TDX quote. */
  async createQuote(o: SimulatedQuoteOptions): Promise<Uint8Array> {
    const version = o.version ?? 4;
    const z48 = new Uint8Array(48);
    const body: TdxReportBody = {
      layout: version === 5 ? "1.5" : "1.0",
      teeTcbSvn: o.teeTcbSvn ?? DEFAULT_TEE_TCB_SVN,
      mrSeam: o.mrSeam ?? new Uint8Array(48).fill(0x5b),
      mrSignerSeam: z48,
      seamAttributes: new Uint8Array(8),
      tdAttributes: o.tdAttributes ?? decodeHex("0000001000000000"),
      xfam: o.xfam ?? decodeHex("e702060000000000"),
      mrTd: o.mrTd ?? new Uint8Array(48).fill(0x11),
      mrConfigId: o.mrConfigId ?? z48,
      mrOwner: o.mrOwner ?? z48,
      mrOwnerConfig: o.mrOwnerConfig ?? z48,
      rtmrs: o.rtmrs ?? [z48, z48, z48, z48],
      reportData: o.reportData,
      teeTcbSvn2: version === 5 ? (o.teeTcbSvn ?? DEFAULT_TEE_TCB_SVN) : undefined,
      mrServiceTd: version === 5 ? z48 : undefined,
    };
    const header = encodeTdxHeader({
      version,
      qeSvn: 0,
      pceSvn: 0,
      qeVendorId: decodeHex(INTEL_QE_VENDOR_ID),
      userData: new Uint8Array(20),
    });
    const signed = encodeSignedRegion(header, version, body);
    const qe = await this.#qe();
    const signature = await sign(this.#attestationKey.privateKey, signed);
    return concatBytes(
      signed,
      encodeSignatureData({
        signature,
        attestationKey: qe.attKey,
        qeReport: qe.qeReport,
        qeReportSignature: qe.qeReportSignature,
        qeAuthData: this.qeAuthData,
        certificationType: CERT_TYPE_PCK_CHAIN,
        certificationData: new TextEncoder().encode(this.pckChainPem()),
      }),
    );
  }

  async #signedJson(key: string, value: unknown): Promise<Uint8Array> {
    const raw = JSON.stringify(value);
    const sig = await sign(this.#tcbSigning.keys.privateKey, new TextEncoder().encode(raw));
    return new TextEncoder().encode(`{"${key}":${raw},"signature":"${encodeHex(sig)}"}`);
  }

  async #crl(
    issuer: KeyAndCert,
    now: Date,
    validDays: number,
    revoked: string[],
  ): Promise<Uint8Array> {
    const crl = await x509.X509CrlGenerator.create({
      issuer: issuer.cert.subject,
      thisUpdate: new Date(now.getTime() - 3_600_000),
      nextUpdate: new Date(now.getTime() + validDays * DAY),
      signingKey: issuer.keys.privateKey,
      signingAlgorithm: SIGN,
      entries: revoked.map((serialNumber) => ({
        serialNumber,
        revocationDate: new Date(now.getTime() - 7_200_000),
      })),
      extensions: [await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey)],
    });
    return new Uint8Array(crl.rawData);
  }

  /** Signs collateral (TCB info, QE identity, CRLs) for this platform. */
  async collateral(o: SimulatedCollateralOptions = {}): Promise<TdxCollateral> {
    const now = o.now ?? new Date();
    const validDays = o.validDays ?? 30;
    const issueDate = new Date(Math.floor((now.getTime() - 3_600_000) / 1000) * 1000).toISOString()
      .replace(".000Z", "Z");
    const nextUpdate = new Date(Math.floor((now.getTime() + validDays * DAY) / 1000) * 1000)
      .toISOString().replace(".000Z", "Z");
    const evaluation = o.tcbEvaluationDataNumber ?? 17;
    const comps = (svns: readonly number[]) => svns.map((svn) => ({ svn }));
    const tdxComps = [...DEFAULT_TEE_TCB_SVN];
    const level = (
      status: string,
      sgx: readonly number[],
      pceSvn: number,
      advisories?: readonly string[],
    ) => ({
      tcb: { sgxtcbcomponents: comps(sgx), pcesvn: pceSvn, tdxtcbcomponents: comps(tdxComps) },
      tcbDate: "2024-03-13T00:00:00Z",
      tcbStatus: status,
      ...(advisories && advisories.length > 0 ? { advisoryIDs: advisories } : {}),
    });
    const zero48 = "0".repeat(96);
    const tcbInfo = {
      id: "TDX",
      version: 3,
      issueDate,
      nextUpdate,
      fmspc: hexUpper(o.fmspc ?? this.platform.fmspc),
      pceId: hexUpper(this.platform.pceId),
      tcbType: 0,
      tcbEvaluationDataNumber: evaluation,
      tdxModule: {
        mrsigner: zero48,
        attributes: "0000000000000000",
        attributesMask: "FFFFFFFFFFFFFFFF",
      },
      tdxModuleIdentities: [{
        id: "TDX_01",
        mrsigner: zero48,
        attributes: "0000000000000000",
        attributesMask: "FFFFFFFFFFFFFFFF",
        tcbLevels: [{ tcb: { isvsvn: 4 }, tcbDate: "2024-03-13T00:00:00Z", tcbStatus: "UpToDate" }],
      }],
      tcbLevels: [
        level(
          o.tcbStatus ?? "UpToDate",
          this.platform.sgxTcbComponents,
          this.platform.pceSvn,
          o.advisoryIds,
        ),
        level("OutOfDate", this.platform.sgxTcbComponents.map(() => 0), 0, ["INTEL-SA-00000"]),
      ],
    };
    const qeIdentity = {
      id: "TD_QE",
      version: 2,
      issueDate,
      nextUpdate,
      tcbEvaluationDataNumber: evaluation,
      miscselect: "00000000",
      miscselectMask: "FFFFFFFF",
      attributes: "11000000000000000000000000000000",
      attributesMask: "FBFFFFFFFFFFFFFF0000000000000000",
      mrsigner: hexUpper(QE.mrSigner),
      isvprodid: QE.isvProdId,
      tcbLevels: [{
        tcb: { isvsvn: QE.isvSvn },
        tcbDate: "2024-03-13T00:00:00Z",
        tcbStatus: "UpToDate",
      }],
    };
    const chain = this.tcbSigningChainPem();
    const [tcbBody, qeBody, pckCrl, rootCaCrl] = await Promise.all([
      this.#signedJson("tcbInfo", tcbInfo),
      this.#signedJson("enclaveIdentity", qeIdentity),
      this.#crl(this.#pckCa, now, validDays, o.revokePck ? [this.#pck.cert.serialNumber] : []),
      this.#crl(
        this.#root,
        now,
        validDays,
        o.revokeTcbSigning ? [this.#tcbSigning.cert.serialNumber] : [],
      ),
    ]);
    return {
      tcbInfo: tcbBody,
      tcbInfoIssuerChain: chain,
      qeIdentity: qeBody,
      qeIdentityIssuerChain: chain,
      pckCrl,
      pckCrlIssuerChain: [this.#pckCa.cert, this.#root.cert]
        .map((c) => encodePem("CERTIFICATE", new Uint8Array(c.rawData))).join(""),
      rootCaCrl,
    };
  }

  /** Signs collateral and writes it as an offline collateral directory. */
  async writeCollateralDir(dir: string, o: SimulatedCollateralOptions = {}): Promise<void> {
    await writeTdxCollateralDir(dir, await this.collateral(o));
  }

  /** Serialises the authority, private keys included (a local development secret). */
  async toJSON(): Promise<SimulatedTdxAuthorityFile> {
    const pair = async (kc: KeyAndCert) => ({
      key: encodeBase64(new Uint8Array(await crypto.subtle.exportKey("pkcs8", kc.keys.privateKey))),
      cert: encodeBase64(new Uint8Array(kc.cert.rawData)),
    });
    const p = this.platform;
    return {
      kind: "contrast-simulated-tdx-authority",
      version: 1,
      root: await pair(this.#root),
      pckCa: await pair(this.#pckCa),
      pck: await pair(this.#pck),
      tcbSigning: await pair(this.#tcbSigning),
      attestationKey: encodeBase64(
        new Uint8Array(await crypto.subtle.exportKey("pkcs8", this.#attestationKey.privateKey)),
      ),
      platform: {
        ppid: encodeHex(p.ppid),
        sgxTcbComponents: [...p.sgxTcbComponents],
        pceSvn: p.pceSvn,
        cpuSvn: encodeHex(p.cpuSvn),
        pceId: encodeHex(p.pceId),
        fmspc: encodeHex(p.fmspc),
        sgxType: p.sgxType,
      },
    };
  }

  /** Writes the authority to `path` (mode 0600). */
  async save(path: string): Promise<void> {
    await Deno.writeTextFile(path, JSON.stringify(await this.toJSON(), null, 2) + "\n", {
      mode: 0o600,
    });
  }

  /**
   * Loads an authority written by {@link save}.
   *
   * @throws {import("../../util/errors/mod.ts").InvalidDocumentError} when the file is malformed
   */
  static async load(path: string): Promise<SimulatedTdxAuthority> {
    return await SimulatedTdxAuthority.fromJSON(JSON.parse(await Deno.readTextFile(path)));
  }

  /**
   * Loads the authority at `path`, or generates one and saves it there (mode 0600) when the file
   * does not exist: the one call a local demo needs.
   */
  static async loadOrGenerate(
    path: string,
    options: SimulatedTdxAuthorityOptions = {},
  ): Promise<SimulatedTdxAuthority> {
    try {
      return await SimulatedTdxAuthority.load(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    const authority = await SimulatedTdxAuthority.generate(options);
    await authority.save(path);
    return authority;
  }

  /** Rebuilds an authority from {@link toJSON} output. */
  static async fromJSON(value: unknown): Promise<SimulatedTdxAuthority> {
    const issues = new IssueList();
    const r = new ObjectReader(value, "", issues);
    const kind = r.string("kind");
    if (kind !== undefined && kind !== "contrast-simulated-tdx-authority") {
      issues.add("kind", "not a simulated TDX authority file");
    }
    r.integer("version", { min: 1, max: 1 });
    const readPair = (k: string) =>
      r.object(k, (o) => ({ key: o.string("key"), cert: o.string("cert") }));
    const parts = {
      root: readPair("root"),
      pckCa: readPair("pckCa"),
      pck: readPair("pck"),
      tcbSigning: readPair("tcbSigning"),
    };
    const att = r.string("attestationKey");
    const platform = r.object("platform", (o) => ({
      ppid: o.hex("ppid", 16),
      sgxTcbComponents: o.array("sgxTcbComponents", (v) => typeof v === "number" ? v : undefined),
      pceSvn: o.integer("pceSvn", { min: 0, max: 0xffff }),
      cpuSvn: o.hex("cpuSvn", 16),
      pceId: o.hex("pceId", 2),
      fmspc: o.hex("fmspc", 6),
      sgxType: o.integer("sgxType", { min: 0, max: 2 }),
    }));
    r.finish();
    issues.throwIfAny();
    const load = async (
      p: { key?: string; cert?: string } | undefined,
      field: string,
    ): Promise<KeyAndCert> => {
      if (!p?.key || !p.cert) throw new ParseError(field, "key and cert are required");
      const cert = new x509.X509Certificate(
        decodeBase64(p.cert, `${field}.cert`) as Uint8Array<ArrayBuffer>,
      );
      const privateKey = await crypto.subtle.importKey(
        "pkcs8",
        decodeBase64(p.key, `${field}.key`) as Uint8Array<ArrayBuffer>,
        EC,
        true,
        ["sign"],
      );
      const publicKey = await cert.publicKey.export(EC, ["verify"]);
      return { keys: { privateKey, publicKey }, cert };
    };
    const attPrivate = await crypto.subtle.importKey(
      "pkcs8",
      decodeBase64(att!, "attestationKey") as Uint8Array<ArrayBuffer>,
      EC,
      true,
      ["sign"],
    );
    const jwk = await crypto.subtle.exportKey("jwk", attPrivate);
    delete jwk.d;
    jwk.key_ops = ["verify"];
    const attPublic = await crypto.subtle.importKey("jwk", jwk, EC, true, ["verify"]);
    const pl = platform!;
    const pckKc = await load(parts.pck, "pck");
    const ext = pckKc.cert.getExtension(SGX_EXTENSION_OID);
    const fromCert = ext ? parseSgxExtensions(new Uint8Array(ext.value)) : undefined;
    return new SimulatedTdxAuthority({
      root: await load(parts.root, "root"),
      pckCa: await load(parts.pckCa, "pckCa"),
      pck: pckKc,
      tcbSigning: await load(parts.tcbSigning, "tcbSigning"),
      attestationKey: { privateKey: attPrivate, publicKey: attPublic },
      platform: fromCert ?? {
        ppid: decodeHex(pl.ppid!),
        sgxTcbComponents: pl.sgxTcbComponents!,
        pceSvn: pl.pceSvn!,
        cpuSvn: decodeHex(pl.cpuSvn!),
        pceId: decodeHex(pl.pceId!),
        fmspc: decodeHex(pl.fmspc!),
        sgxType: pl.sgxType as 0 | 1 | 2,
      },
    });
  }
}

/**
 * The on-disk form of a simulated authority.
 *
 * @example Save an authority and load it back
 * ```ts
 * import { SimulatedTdxAuthority, type SimulatedTdxAuthorityFile } from "../mod.ts";
 *
 * const authority = await SimulatedTdxAuthority.generate();
 * const file: SimulatedTdxAuthorityFile = await authority.toJSON();
 * const again = await SimulatedTdxAuthority.fromJSON(file);
 * console.log(file.kind, await again.rootFingerprint() === await authority.rootFingerprint());
 * ```
 */
export interface SimulatedTdxAuthorityFile {
  /** `contrast-simulated-tdx-authority`. */
  readonly kind: string;
  /** 1. */
  readonly version: number;
  /** Root CA key (PKCS#8, base64) and certificate (DER, base64). */
  readonly root: { key: string; cert: string };
  /** PCK Platform CA. */
  readonly pckCa: { key: string; cert: string };
  /** PCK certificate. */
  readonly pck: { key: string; cert: string };
  /** TCB signing certificate. */
  readonly tcbSigning: { key: string; cert: string };
  /** Attestation key (PKCS#8, base64). */
  readonly attestationKey: string;
  /** Platform values (informational; the PCK certificate's extension is authoritative). */
  readonly platform: Record<string, unknown>;
}
