/**
 * Offline TDX collateral directories: the layout contrast writes (and the conformance folders
 * use): `tcb_info.json`, `tcb_info_issuer_chain.pem`, `qe_identity.json`,
 * `qe_identity_issuer_chain.pem`, `pck_crl.der`, `pck_crl_issuer_chain.pem`, `root_ca_crl.der`.
 * Everything read is untrusted until verified against the pinned root.
 *
 * @module
 */
import { ParseError, UnavailableError } from "../../util/errors/mod.ts";
import {
  DEFAULT_MAX_BODY_BYTES,
  type LimitedRead,
  readLimitedFile,
} from "../../collateral/read_limited.ts";
import {
  StaticTdxCollateral,
  type TdxCollateral,
  type TdxCollateralSource,
} from "../verify/collateral_bundle.ts";

/** File names of a collateral directory. */
const COLLATERAL_FILES = {
  tcbInfo: "tcb_info.json",
  tcbInfoIssuerChain: "tcb_info_issuer_chain.pem",
  qeIdentity: "qe_identity.json",
  qeIdentityIssuerChain: "qe_identity_issuer_chain.pem",
  pckCrl: "pck_crl.der",
  pckCrlIssuerChain: "pck_crl_issuer_chain.pem",
  rootCaCrl: "root_ca_crl.der",
} as const;

async function readOptional(path: string): Promise<Uint8Array | undefined> {
  let read: LimitedRead;
  try {
    read = await readLimitedFile(path, DEFAULT_MAX_BODY_BYTES);
  } catch (e) {
    throw new UnavailableError(path, `cannot read: ${(e as Error).message}`, { cause: e });
  }
  switch (read.kind) {
    case "file":
      return read.bytes;
    case "missing":
      return undefined;
    case "directory":
      throw new ParseError(path, "is a directory, expected a collateral file");
    case "refused":
      throw new ParseError(path, `collateral file refused: ${read.reason}`);
  }
}

async function readRequired(dir: string, name: string): Promise<Uint8Array> {
  const bytes = await readOptional(`${dir}/${name}`);
  if (!bytes) throw new UnavailableError(`${dir}/${name}`, "collateral file is missing");
  return bytes;
}

/**
 * Reads a collateral directory. TCB info, QE identity and their issuer chains are required; the
 * CRLs are optional here (the verifier decides whether their absence is acceptable).
 *
 * @throws {UnavailableError} naming the missing file
 *
 * @example Verify a quote with collateral saved in a directory
 * ```ts
 * import { INTEL_SGX_ROOT_CA_SHA256, readTdxCollateralDir, verifyTdxQuote } from "../mod.ts";
 *
 * async function verifyOffline(quote: Uint8Array, dir: string) {
 *   return await verifyTdxQuote(quote, {
 *     now: new Date(),
 *     trustAnchors: [INTEL_SGX_ROOT_CA_SHA256],
 *     collateral: await readTdxCollateralDir(dir),
 *   });
 * }
 * ```
 */
export async function readTdxCollateralDir(dir: string): Promise<TdxCollateral> {
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  const [tcbInfo, tcbChain, qeIdentity, qeChain, pckCrl, pckCrlChain, rootCaCrl] = await Promise
    .all([
      readRequired(dir, COLLATERAL_FILES.tcbInfo),
      readRequired(dir, COLLATERAL_FILES.tcbInfoIssuerChain),
      readRequired(dir, COLLATERAL_FILES.qeIdentity),
      readRequired(dir, COLLATERAL_FILES.qeIdentityIssuerChain),
      readOptional(`${dir}/${COLLATERAL_FILES.pckCrl}`),
      readOptional(`${dir}/${COLLATERAL_FILES.pckCrlIssuerChain}`),
      readOptional(`${dir}/${COLLATERAL_FILES.rootCaCrl}`),
    ]);
  return {
    tcbInfo,
    tcbInfoIssuerChain: text(tcbChain),
    qeIdentity,
    qeIdentityIssuerChain: text(qeChain),
    pckCrl,
    pckCrlIssuerChain: pckCrlChain ? text(pckCrlChain) : undefined,
    rootCaCrl,
  };
}

/**
 * Writes collateral into `dir` in the layout {@link readTdxCollateralDir} reads.
 *
 * @example Save fetched collateral for offline verification
 * ```ts
 * import { type TdxCollateral, writeTdxCollateralDir } from "../mod.ts";
 *
 * async function save(collateral: TdxCollateral): Promise<void> {
 *   await writeTdxCollateralDir("./tdx-collateral", collateral);
 * }
 * ```
 */
export async function writeTdxCollateralDir(dir: string, c: TdxCollateral): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const enc = (s: string) => new TextEncoder().encode(s);
  const files: [string, Uint8Array | undefined][] = [
    [COLLATERAL_FILES.tcbInfo, c.tcbInfo],
    [COLLATERAL_FILES.tcbInfoIssuerChain, enc(c.tcbInfoIssuerChain)],
    [COLLATERAL_FILES.qeIdentity, c.qeIdentity],
    [COLLATERAL_FILES.qeIdentityIssuerChain, enc(c.qeIdentityIssuerChain)],
    [COLLATERAL_FILES.pckCrl, c.pckCrl],
    [
      COLLATERAL_FILES.pckCrlIssuerChain,
      c.pckCrlIssuerChain ? enc(c.pckCrlIssuerChain) : undefined,
    ],
    [COLLATERAL_FILES.rootCaCrl, c.rootCaCrl],
  ];
  for (const [name, bytes] of files) {
    if (bytes) await Deno.writeFile(`${dir}/${name}`, bytes);
  }
}

/**
 * Whether `dir` has the flat layout of {@link COLLATERAL_FILES} (its TCB info file is there).
 *
 * @throws {UnavailableError} naming `dir` when it cannot be read
 */
export async function isFlatCollateralDir(dir: string): Promise<boolean> {
  try {
    return (await Deno.stat(`${dir}/${COLLATERAL_FILES.tcbInfo}`)).isFile;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw new UnavailableError(dir, `cannot read: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * A collateral source for an offline directory in either layout: the flat layout of
 * {@link COLLATERAL_FILES} (one platform), or a by-URL bundle (`collateral/bundle.ts`) holding
 * Intel PCS responses for any number of platforms.
 *
 * @example A verifier that reads collateral from a directory
 * ```ts
 * import { collateralSourceForDir, defaultTdxReferenceValues, TdxEvidenceVerifier } from "../mod.ts";
 *
 * const verifier = new TdxEvidenceVerifier({
 *   referenceValues: defaultTdxReferenceValues(),
 *   collateral: await collateralSourceForDir("./tdx-collateral"),
 * });
 * ```
 */
export async function collateralSourceForDir(dir: string): Promise<TdxCollateralSource> {
  if (await isFlatCollateralDir(dir)) {
    return new StaticTdxCollateral(await readTdxCollateralDir(dir));
  }
  // The PCS client (and the collateral cache it reads through) loads only for a by-URL bundle.
  const { bundleTransport, IntelPcsClient } = await import("./client.ts");
  return new IntelPcsClient({ transport: bundleTransport(dir) });
}
