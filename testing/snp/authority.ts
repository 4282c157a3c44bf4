/**
 * A simulated AMD SEV-SNP authority for local runs and tests: a vendor-like chain (RSA-PSS
 * ARK and ASK, P-384 VCEKs with the AMD extensions) whose keys it holds, so it can produce
 * byte-exact, correctly signed attestation reports with chosen report data, host data,
 * measurement, policy and TCB, plus the auxblob certificate table a guest would receive.
 *
 * Verifiers accept its reports only when a reference value with `Platform: "Simulated-SNP"`
 * names its root fingerprint ({@link SimulatedSnpAuthority.rootFingerprint}); never by default.
 *
 * @module
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { decodePem, encodeHex, encodePem, sha256 } from "../../util/bytes/mod.ts";
import { ParseError } from "../../util/errors/mod.ts";
import { CERT_TABLE_GUIDS, encodeCertTable } from "../../snp/abi/cert_table.ts";
import { assembleSnpReport, encodeSnpReportBody } from "../../snp/abi/encode.ts";
import { encodeGuestPolicy, type SnpGuestPolicyParts } from "../../snp/abi/policy.ts";
import { SNP_PRODUCTS, type SnpProductName, tcbLayoutOf } from "../../snp/abi/product.ts";
import { encodeSignerInfo } from "../../snp/abi/signer_info.ts";
import { encodeTcb, type SnpTcbParts } from "../../snp/abi/tcb.ts";
import {
  baselineSnpReferenceValue,
  SIMULATED_SNP_PLATFORM,
  type SnpReferenceValue,
} from "../../snp/reference_values.ts";
import {
  crlNumberExtension,
  issueArk,
  issueAsk,
  issueVcek,
  RSA_PSS_SHA384,
  rsaPssKeyParams,
} from "./certificates.ts";

/**
 * Options of {@link SimulatedSnpAuthority.generate}.
 *
 * @example A Genoa authority with small keys for tests
 * ```ts
 * import { type GenerateSimulatedSnpOptions, SimulatedSnpAuthority } from "../mod.ts";
 *
 * const options: GenerateSimulatedSnpOptions = { product: "Genoa", rsaBits: 2048 };
 * const authority = await SimulatedSnpAuthority.generate(options);
 * console.log(authority.product); // "Genoa"
 * ```
 */
export interface GenerateSimulatedSnpOptions {
  /** Product line to imitate (default Milan). */
  readonly product?: SnpProductName;
  /** RSA modulus size of ARK and ASK (default 4096, as AMD's). */
  readonly rsaBits?: number;
  /** The chip's TCB, used when a report names none (default bl 3, tee 0, snp 8, ucode 115). */
  readonly tcb?: SnpTcbParts;
  /** Start of the certificates' validity (default: one day ago). */
  readonly notBefore?: Date;
}

/**
 * What a simulated report contains. Omitted fields take the defaults noted.
 *
 * @example A report with a chosen HOST_DATA and measurement
 * ```ts
 * import { SimulatedSnpAuthority, type SimulatedReportInput } from "../mod.ts";
 *
 * const authority = await SimulatedSnpAuthority.generate({ rsaBits: 2048 });
 * const input: SimulatedReportInput = {
 *   reportData: new Uint8Array(64),
 *   hostData: new Uint8Array(32).fill(7),
 *   measurement: new Uint8Array(48).fill(9),
 * };
 * const { report } = await authority.createReport(input);
 * ```
 */
export interface SimulatedReportInput {
  /** `REPORT_DATA`: up to 64 bytes, zero-padded (default zeros). */
  readonly reportData?: Uint8Array;
  /** `HOST_DATA`: 32 bytes (default zeros). */
  readonly hostData?: Uint8Array;
  /** `MEASUREMENT`: 48 bytes (default zeros). */
  readonly measurement?: Uint8Array;
  /** Guest policy flags or raw value (default: SMT allowed, nothing else). */
  readonly policy?: SnpGuestPolicyParts | bigint;
  /** The TCB (reported, committed, launch and current; default the authority's). */
  readonly tcb?: SnpTcbParts;
  /** `VMPL` (default 0). */
  readonly vmpl?: number;
  /** Report version: 2, 3 or 5 (default 5; Turin needs 3 or later). */
  readonly version?: 2 | 3 | 5;
  /** `PLATFORM_INFO` raw value (default 0x1: SMT enabled). */
  readonly platformInfo?: bigint;
  /** `FAMILY_ID`, 16 bytes. */
  readonly familyId?: Uint8Array;
  /** `IMAGE_ID`, 16 bytes. */
  readonly imageId?: Uint8Array;
  /** `ID_KEY_DIGEST`, 48 bytes. */
  readonly idKeyDigest?: Uint8Array;
  /** `GUEST_SVN`. */
  readonly guestSvn?: number;
  /** Set `MASK_CHIP_KEY` and zero `CHIP_ID`. */
  readonly maskChipKey?: boolean;
  /**
   * Signs the report body with the VCEK's private key `key` in place of WebCrypto's ECDSA P-384 /
   * SHA-384; must return a valid signature's r ‖ s (96 bytes). The load test's generator passes
   * one whose nonces it precomputed (`bench/coordinator/presigned_ecdsa.ts`): the same signature,
   * cheaper at request time. Default: WebCrypto.
   */
  readonly sign?: (key: CryptoKey, body: Uint8Array) => Promise<Uint8Array>;
}

/**
 * A simulated report with what a guest would get next to it.
 *
 * @example The report and the certificate table that comes with it
 * ```ts
 * import { SimulatedSnpAuthority, type SimulatedReport } from "../mod.ts";
 *
 * const authority = await SimulatedSnpAuthority.generate({ rsaBits: 2048 });
 * const signed: SimulatedReport = await authority.createReport();
 * console.log(signed.report.length, signed.aux.length > 0, signed.vcek.length > 0);
 * ```
 */
export interface SimulatedReport {
  /** The 1184-byte signed report. */
  readonly report: Uint8Array;
  /** The auxblob certificate table (VCEK, ASK, ARK, DER). */
  readonly aux: Uint8Array;
  /** The VCEK that signed it, DER. */
  readonly vcek: Uint8Array;
}

interface AuthorityFile {
  readonly format: "contrast-simulated-snp/v1";
  readonly product: SnpProductName;
  readonly chipId: string;
  readonly tcb: SnpTcbParts;
  readonly notBefore: string;
}

const FILES = {
  meta: "authority.json",
  ark: "ark.pem",
  ask: "ask.pem",
  arkKey: "ark.key.pem",
  askKey: "ask.key.pem",
  vcek: "vcek.pem",
  vcekKey: "vcek.key.pem",
} as const;

const CPUID: Record<SnpProductName, { family: number; model: number; stepping: number }> = {
  Milan: { family: 0x19, model: 0x01, stepping: 0x01 },
  Genoa: { family: 0x19, model: 0x11, stepping: 0x01 },
  Turin: { family: 0x1a, model: 0x02, stepping: 0x01 },
};

/** A positive 128-bit serial number, hex: unique across sessions of a reloaded authority. */
function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0]! & 0x7f) | 0x40;
  return encodeHex(bytes);
}

/** The key of a TCB's VCEK in an authority's VCEK map. */
function vcekId(tcb: SnpTcbParts): string {
  return JSON.stringify([tcb.bootloader, tcb.tee, tcb.snp, tcb.microcode, tcb.fmc ?? 0]);
}

const DEFAULT_TCB: SnpTcbParts = { bootloader: 3, tee: 0, snp: 8, microcode: 115 };

/**
 * A simulated SEV-SNP vendor chain that signs reports; see the module documentation.
 *
 * @example A signed report that verifies against the simulated root, and only against it
 * ```ts
 * import { SimulatedSnpAuthority } from "./authority.ts";
 * import { SnpEvidenceVerifier } from "../../snp/mod.ts";
 *
 * const authority = await SimulatedSnpAuthority.generate({ rsaBits: 2048 });
 * const reportData = new Uint8Array(64);
 * const { report, aux } = await authority.createReport({ reportData });
 * const verifier = new SnpEvidenceVerifier({ referenceValues: [authority.referenceValue()] });
 * await verifier.verify({ platform: "snp", report, aux }, { reportData, now: new Date() });
 * ```
 */
export class SimulatedSnpAuthority {
  /** The product line it imitates. */
  readonly product: SnpProductName;
  /** The chip ID of its (single) simulated chip, 64 bytes (Turin: 8 bytes then zeros). */
  readonly chipId: Uint8Array;
  /** The default TCB of its chip. */
  readonly tcb: SnpTcbParts;
  readonly #ark: x509.X509Certificate;
  readonly #ask: x509.X509Certificate;
  /** SHA-256 of the ARK DER, lower-case hex: what reference values must name. */
  readonly rootFingerprint: string;
  readonly #arkKey: CryptoKey;
  readonly #askKey: CryptoKey;
  readonly #notBefore: Date;
  /** VCEK (certificate + private key) per TCB, issued on first use. */
  readonly #vceks = new Map<string, Promise<{ der: Uint8Array; key: CryptoKey }>>();

  private constructor(init: {
    product: SnpProductName;
    chipId: Uint8Array;
    tcb: SnpTcbParts;
    ark: x509.X509Certificate;
    ask: x509.X509Certificate;
    arkKey: CryptoKey;
    askKey: CryptoKey;
    notBefore: Date;
    rootFingerprint: string;
  }) {
    this.product = init.product;
    this.chipId = init.chipId;
    this.tcb = init.tcb;
    this.#ark = init.ark;
    this.#ask = init.ask;
    this.#arkKey = init.arkKey;
    this.#askKey = init.askKey;
    this.#notBefore = init.notBefore;
    this.rootFingerprint = init.rootFingerprint;
  }

  /** Generates a new authority (RSA key generation takes seconds at 4096 bits). */
  static async generate(options: GenerateSimulatedSnpOptions = {}): Promise<SimulatedSnpAuthority> {
    const product = options.product ?? "Milan";
    const bits = options.rsaBits ?? 4096;
    const notBefore = options.notBefore ?? new Date(Date.now() - 86400_000);
    const [arkKeys, askKeys] = await Promise.all([
      crypto.subtle.generateKey(rsaPssKeyParams(bits), true, ["sign", "verify"]),
      crypto.subtle.generateKey(rsaPssKeyParams(bits), true, ["sign", "verify"]),
    ]) as [CryptoKeyPair, CryptoKeyPair];
    const ark = await issueArk(product, arkKeys, notBefore);
    const ask = await issueAsk(product, askKeys.publicKey, arkKeys.privateKey, notBefore);
    const chipId = new Uint8Array(64);
    crypto.getRandomValues(product === "Turin" ? chipId.subarray(0, 8) : chipId);
    return new SimulatedSnpAuthority({
      product,
      chipId,
      tcb: options.tcb ?? { ...DEFAULT_TCB, ...(product === "Turin" ? { fmc: 0 } : {}) },
      ark,
      ask,
      arkKey: arkKeys.privateKey,
      askKey: askKeys.privateKey,
      notBefore,
      rootFingerprint: encodeHex(await sha256(new Uint8Array(ark.rawData))),
    });
  }

  /** Writes the authority (certificates, private keys, chip) to `dir`; keys are mode 0600. */
  async save(dir: string): Promise<void> {
    await Deno.mkdir(dir, { recursive: true });
    const meta: AuthorityFile = {
      format: "contrast-simulated-snp/v1",
      product: this.product,
      chipId: encodeHex(this.chipId),
      tcb: this.tcb,
      notBefore: this.#notBefore.toISOString(),
    };
    const pkcs8 = async (key: CryptoKey) =>
      encodePem("PRIVATE KEY", new Uint8Array(await crypto.subtle.exportKey("pkcs8", key)));
    await Deno.writeTextFile(`${dir}/${FILES.arkKey}`, await pkcs8(this.#arkKey), { mode: 0o600 });
    await Deno.writeTextFile(`${dir}/${FILES.askKey}`, await pkcs8(this.#askKey), { mode: 0o600 });
    await Deno.writeTextFile(`${dir}/${FILES.ark}`, this.#ark.toString("pem") + "\n");
    await Deno.writeTextFile(`${dir}/${FILES.ask}`, this.#ask.toString("pem") + "\n");
    const vcek = await this.#vcek(this.tcb);
    await Deno.writeTextFile(`${dir}/${FILES.vcekKey}`, await pkcs8(vcek.key), { mode: 0o600 });
    await Deno.writeTextFile(`${dir}/${FILES.vcek}`, encodePem("CERTIFICATE", vcek.der));
    await Deno.writeTextFile(`${dir}/${FILES.meta}`, JSON.stringify(meta, null, 2) + "\n");
  }

  /**
   * Loads an authority saved with {@link save}.
   *
   * @throws {ParseError} naming the file when something is missing or malformed
   */
  static async load(dir: string): Promise<SimulatedSnpAuthority> {
    const read = async (name: string) => {
      try {
        return await Deno.readTextFile(`${dir}/${name}`);
      } catch (e) {
        throw new ParseError(`${dir}/${name}`, `cannot read: ${(e as Error).message}`);
      }
    };
    let meta: AuthorityFile;
    try {
      meta = JSON.parse(await read(FILES.meta));
    } catch (e) {
      if (e instanceof ParseError) throw e;
      throw new ParseError(`${dir}/${FILES.meta}`, "not JSON");
    }
    if (meta.format !== "contrast-simulated-snp/v1" || !SNP_PRODUCTS.includes(meta.product)) {
      throw new ParseError(`${dir}/${FILES.meta}`, "not a simulated SNP authority file");
    }
    const importKey = async (name: string) => {
      const der = decodePem(await read(name), "PRIVATE KEY", `${dir}/${name}`)[0]!.der;
      return await crypto.subtle.importKey(
        "pkcs8",
        der as Uint8Array<ArrayBuffer>,
        { name: "RSA-PSS", hash: "SHA-384" },
        true,
        ["sign"],
      );
    };
    const ark = new x509.X509Certificate(await read(FILES.ark));
    const ask = new x509.X509Certificate(await read(FILES.ask));
    const authority = new SimulatedSnpAuthority({
      product: meta.product,
      chipId: Uint8Array.from(meta.chipId.match(/../g)!.map((h) => parseInt(h, 16))),
      tcb: meta.tcb,
      ark,
      ask,
      arkKey: await importKey(FILES.arkKey),
      askKey: await importKey(FILES.askKey),
      notBefore: new Date(meta.notBefore),
      rootFingerprint: encodeHex(await sha256(new Uint8Array(ark.rawData))),
    });
    await authority.#loadVcek(dir);
    return authority;
  }

  /**
   * The saved VCEK of the default TCB, when `dir` has one (older saves have none): processes
   * loading the same authority then sign with the same chip key, so a KDS stand-in in another
   * process serves the VCEK that verifies their reports.
   */
  async #loadVcek(dir: string): Promise<void> {
    let pem: string, keyPem: string;
    try {
      [pem, keyPem] = await Promise.all([
        Deno.readTextFile(`${dir}/${FILES.vcek}`),
        Deno.readTextFile(`${dir}/${FILES.vcekKey}`),
      ]);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return;
      throw new ParseError(`${dir}/${FILES.vcek}`, `cannot read: ${(e as Error).message}`);
    }
    const der = decodePem(pem, "CERTIFICATE", `${dir}/${FILES.vcek}`)[0]!.der;
    const keyDer = decodePem(keyPem, "PRIVATE KEY", `${dir}/${FILES.vcekKey}`)[0]!.der;
    const key = await crypto.subtle.importKey(
      "pkcs8",
      keyDer as Uint8Array<ArrayBuffer>,
      { name: "ECDSA", namedCurve: "P-384" },
      true,
      ["sign"],
    );
    this.#vceks.set(vcekId(this.tcb), Promise.resolve({ der, key }));
  }

  /** The ARK certificate, PEM. */
  get arkPem(): string {
    return this.#ark.toString("pem");
  }

  /** The ASK certificate, PEM. */
  get askPem(): string {
    return this.#ask.toString("pem");
  }

  /** The ASK's serial number, hex (as a CRL lists it). */
  get askSerialNumber(): string {
    return this.#ask.serialNumber;
  }

  /** The ARK, DER. */
  get arkDer(): Uint8Array {
    return new Uint8Array(this.#ark.rawData);
  }

  /** The ASK, DER. */
  get askDer(): Uint8Array {
    return new Uint8Array(this.#ask.rawData);
  }

  /** The hwID its VCEKs carry: the chip ID (Turin: its first 8 bytes). */
  get hwId(): Uint8Array {
    return this.product === "Turin" ? this.chipId.slice(0, 8) : this.chipId.slice();
  }

  /**
   * A reference value accepting this authority's reports: `Platform: "Simulated-SNP"`, its root
   * fingerprint, and `overrides` on top (e.g. `TrustedMeasurement`).
   */
  referenceValue(overrides: Partial<SnpReferenceValue> = {}): SnpReferenceValue {
    return {
      ...baselineSnpReferenceValue(SIMULATED_SNP_PLATFORM, this.product),
      SimulatedRootSHA256: this.rootFingerprint,
      ...overrides,
    };
  }

  /** The VCEK (DER) of the chip at `tcb`, issued on first use and kept. */
  async vcekFor(tcb: SnpTcbParts = this.tcb): Promise<Uint8Array> {
    return (await this.#vcek(tcb)).der;
  }

  #vcek(tcb: SnpTcbParts): Promise<{ der: Uint8Array; key: CryptoKey }> {
    const id = vcekId(tcb);
    let entry = this.#vceks.get(id);
    if (entry === undefined) {
      entry = (async () => {
        const keys = await crypto.subtle.generateKey(
          { name: "ECDSA", namedCurve: "P-384" },
          true,
          ["sign", "verify"],
        ) as CryptoKeyPair;
        const cert = await issueVcek({
          product: this.product,
          hwId: this.hwId,
          tcb,
          publicKey: keys.publicKey,
          askPrivateKey: this.#askKey,
          notBefore: this.#notBefore,
          serialNumber: randomSerial(),
        });
        return { der: new Uint8Array(cert.rawData), key: keys.privateKey };
      })();
      this.#vceks.set(id, entry);
    }
    return entry;
  }

  /**
   * A CRL signed by the ARK (like AMD's `/vcek/v1/{product}/crl`), revoking the intermediates
   * whose serial numbers (hex) are listed, with the cRLNumber extension when `crlNumber` is given.
   */
  async issueCrl(options: {
    revokedSerials?: readonly string[];
    thisUpdate?: Date;
    nextUpdate?: Date;
    crlNumber?: bigint;
  } = {}): Promise<Uint8Array> {
    const thisUpdate = options.thisUpdate ?? new Date(Date.now() - 3600_000);
    const crl = await x509.X509CrlGenerator.create({
      issuer: this.#ark.subject,
      thisUpdate,
      nextUpdate: options.nextUpdate ?? new Date(thisUpdate.getTime() + 7 * 86400_000),
      entries: (options.revokedSerials ?? []).map((serialNumber) => ({
        serialNumber,
        revocationDate: thisUpdate,
      })),
      signingAlgorithm: RSA_PSS_SHA384,
      signingKey: this.#arkKey,
      ...(options.crlNumber !== undefined
        ? { extensions: [crlNumberExtension(options.crlNumber)] }
        : {}),
    });
    return new Uint8Array(crl.rawData);
  }

  /** Creates a signed report and its auxblob; see {@link SimulatedReportInput}. */
  async createReport(input: SimulatedReportInput = {}): Promise<SimulatedReport> {
    const version = input.version ?? 5;
    if (this.product === "Turin" && version < 3) {
      throw new ParseError("version", "Turin firmware produces reports of version 3 or later");
    }
    const tcbParts = input.tcb ?? this.tcb;
    const tcb = encodeTcb(tcbParts, tcbLayoutOf(this.product)).raw;
    const reportData = new Uint8Array(64);
    if (input.reportData) {
      if (input.reportData.length > 64) {
        throw new ParseError("reportData", `at most 64 bytes, got ${input.reportData.length}`);
      }
      reportData.set(input.reportData);
    }
    const policy = typeof input.policy === "bigint"
      ? input.policy
      : encodeGuestPolicy(input.policy ?? { smt: true });
    const reportId = new Uint8Array(32);
    crypto.getRandomValues(reportId);
    const body = encodeSnpReportBody({
      version,
      guestSvn: input.guestSvn,
      policy,
      familyId: input.familyId,
      imageId: input.imageId,
      vmpl: input.vmpl,
      currentTcb: tcb,
      platformInfo: input.platformInfo ?? 0x1n,
      signerInfo: encodeSignerInfo({ signingKey: "VCEK", maskChipKey: input.maskChipKey }),
      reportData,
      measurement: input.measurement,
      hostData: input.hostData,
      idKeyDigest: input.idKeyDigest,
      reportId,
      reportIdMa: new Uint8Array(32).fill(0xff),
      reportedTcb: tcb,
      cpuid: version >= 3 ? CPUID[this.product] : undefined,
      chipId: input.maskChipKey ? new Uint8Array(64) : this.chipId,
      committedTcb: tcb,
      launchTcb: tcb,
    });
    const vcek = await this.#vcek(tcbParts);
    const signature = input.sign ? await input.sign(vcek.key, body) : new Uint8Array(
      await crypto.subtle.sign(
        { name: "ECDSA", hash: "SHA-384" },
        vcek.key,
        body as Uint8Array<ArrayBuffer>,
      ),
    );
    if (signature.length !== 96) {
      throw new ParseError(
        "sign",
        `a P-384 signature is 96 bytes (r ‖ s), got ${signature.length}`,
      );
    }
    const report = assembleSnpReport(body, signature.subarray(0, 48), signature.subarray(48));
    const aux = encodeCertTable([
      { guid: CERT_TABLE_GUIDS.VCEK, data: vcek.der },
      { guid: CERT_TABLE_GUIDS.ASK, data: this.askDer },
      { guid: CERT_TABLE_GUIDS.ARK, data: this.arkDer },
    ]);
    return { report, aux, vcek: vcek.der };
  }
}
