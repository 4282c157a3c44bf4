/**
 * The SEV-SNP part of `contrast evidence show|verify` (`--platform snp`): reads the files, runs
 * the SNP verifier, prints human-readable text or JSON, and throws the typed error of a failed
 * check (the CLI maps it to the exit code). With `--json`, a failed verification still prints a
 * JSON verdict on stdout before the error goes to stderr.
 *
 * @module
 */
import { decodeHex } from "../../util/bytes/mod.ts";
import { parseRfc3339 } from "../rfc3339.ts";
import { CachingFetcher } from "../../collateral/caching_fetcher.ts";
import { InvalidDocumentError, ParseError, ValidationError } from "../../util/errors/mod.ts";
import { parseInputBytes, readInputFile } from "../../util/files/read_input.ts";
import { ExitCode, exitCodeFor } from "../exit_codes.ts";
import { commandResult, FailureWithResult } from "../result.ts";
import {
  collateralCacheDir,
  DEFAULT_TIMEOUT,
  parseDuration,
  refuseEmptyOptionValues,
  revocationMarksFor,
} from "../options.ts";
import { IssueList } from "../../util/json/mod.ts";
import { describeSnpReport } from "../../snp/abi/describe.ts";
import { parseSnpReport } from "../../snp/abi/report.ts";
import { AmdKdsClient } from "../../snp/kds/client.ts";
import { SNP_PRODUCTS, type SnpProductName } from "../../snp/abi/product.ts";
import {
  defaultSnpReferenceValues,
  isSimulated,
  readSnpReferenceValuesDocument,
  type SnpReferenceValue,
} from "../../snp/reference_values.ts";
import { SnpEvidenceVerifier, type SnpVerification } from "../../snp/verifier.ts";
import { ChainCache } from "../../x509/chain_cache.ts";

/** Options of `contrast evidence verify --platform snp`. */
export interface SnpVerifyCommandOptions {
  /** The report file (1184 bytes). */
  readonly report: string;
  /** auxblob file (GUID certificate table) obtained with the report. */
  readonly aux?: string;
  /** VCEK or VLEK file (DER or PEM). */
  readonly vcek?: string;
  /** ASK or ASVK file (DER or PEM). */
  readonly ask?: string;
  /** ARK file (DER or PEM). */
  readonly ark?: string;
  /** Offline collateral bundle directory (AMD KDS responses by URL). */
  readonly collateralDir?: string;
  /** Cache root (AMD KDS responses go to `<dir>/collateral`). */
  readonly cacheDir?: string;
  /** Time limit of one network request (`--timeout`, e.g. `10s`). */
  readonly timeout?: string;
  /** Never use the network. */
  readonly offline?: boolean;
  /** AMD KDS base URL (default https://kdsintf.amd.com). */
  readonly kdsUrl?: string;
  /**
   * Base URL AMD's CRLs come from (default AMD's KDS whatever `kdsUrl` is; with only simulated
   * reference values and `kdsUrl`, the stand-in's own).
   */
  readonly amdCrlUrl?: string;
  /** RFC 3339 time to verify at (default now). */
  readonly now?: string;
  /** Reference values file (manifest, `{snp: [...]}`, list or one entry). */
  readonly referenceValues?: string;
  /** Hex of the 64-byte report data the report must carry. */
  readonly reportData?: string;
  /** Hex of the 32-byte host data the report must carry. */
  readonly hostData?: string;
  /**
   * Go on when no AMD CRL can be checked: the explicit opt-out (the output says revocation was
   * not checked). By default revocation is required for reports under the AMD roots, as for TDX.
   */
  readonly skipRevocation?: boolean;
  /** Print JSON. */
  readonly json?: boolean;
}

/** Options of `contrast evidence show --platform snp`. */
export interface SnpShowCommandOptions {
  /** The report file. */
  readonly report: string;
  /** Print JSON. */
  readonly json?: boolean;
}

/** Where output goes; tests and the CLI pass their own. */
export interface Output {
  /** Writes a line to stdout. */
  out(line: string): void;
}

const consoleOutput: Output = { out: (line) => console.log(line) };

function readFile(path: string, flag: string): Promise<Uint8Array> {
  return readInputFile(path, flag);
}

/** Reads an SNP reference-values file. */
export async function readSnpReferenceValuesFile(path: string): Promise<SnpReferenceValue[]> {
  const text = new TextDecoder().decode(await readFile(path, "--reference-values"));
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (e) {
    throw new ParseError("--reference-values", `${path} is not JSON: ${(e as Error).message}`);
  }
  try {
    return readSnpReferenceValuesDocument(document, new IssueList());
  } catch (error) {
    throw error instanceof InvalidDocumentError ? error.inFile(path) : error;
  }
}

/** Which per-verification values were given (and so checked): `--report-data`, `--host-data`. */
interface CheckedInputs {
  /** `--report-data` was given: the report carries exactly it (freshness, when it is a nonce). */
  readonly reportData: boolean;
  /** `--host-data` was given: the report carries exactly it. */
  readonly hostData: boolean;
}

function human(
  result: SnpVerification,
  referenceSource: string,
  checked: CheckedInputs,
): string[] {
  const d = result.claims.details;
  const r = result.report;
  return [
    `SNP report verified: genuine ${d.product} report (version ${r.version}), signed by its ${d.signingKey}`,
    `  root          ${
      result.simulatedRoot ? "SIMULATED root" : `AMD ARK-${d.product}`
    } sha256:${d.rootSha256}`,
    `  revocation    ${
      result.revocationChecked
        ? "checked against the AMD CRL"
        : result.simulatedRoot
        ? "not checked (a simulated root has no AMD CRL)"
        : "NOT checked (skipped on request: --skip-revocation)"
    }`,
    `  reference     ${referenceSource}[${result.claims.referenceValueIndex}] matched`,
    `  measurement   ${d.measurement}`,
    `  host data     ${d.hostData} ${
      checked.hostData ? "(matches --host-data)" : "(not checked: no --host-data)"
    }`,
    `  report data   ${d.reportData} ${
      checked.reportData
        ? "(matches --report-data)"
        : "(NOT checked: no --report-data, so nothing shows this report is fresh: an old one " +
          "replayed passes)"
    }`,
    `  chip id       ${d.chipId}`,
    `  policy        ${d.policy} (debug ${r.policy.debug ? "on" : "off"}, migration agent ${
      r.policy.migrateMa ? "allowed" : "off"
    }, SMT ${r.policy.smt ? "allowed" : "off"})`,
    `  vmpl          ${d.vmpl}`,
    `  reported TCB  ${d.reportedTcb}`,
    `  committed TCB ${d.committedTcb}`,
    `  launch TCB    ${d.launchTcb}`,
  ];
}

/**
 * The roots a KDS set explicitly may chain to, when every reference value is simulated: the
 * roots they name (as for manifests; a stand-in serving a simulated chain, and its CRL). Otherwise
 * AMD's pinned roots only (the client's default), with AMD's CRLs from `amdCrlUrl` or AMD's KDS:
 * AMD's KDS knows no simulated chip, and a KDS proxy could replay an older CRL.
 */
function kdsTrustedRoots(
  kdsUrl: string | undefined,
  amdCrlUrl: string | undefined,
  referenceValues: readonly SnpReferenceValue[],
): {
  trustedRoots?: Partial<Record<SnpProductName, readonly string[]>>;
  crlBaseUrl?: string;
} {
  if (kdsUrl === undefined || !referenceValues.every(isSimulated)) {
    return amdCrlUrl !== undefined ? { crlBaseUrl: amdCrlUrl } : {};
  }
  const roots = referenceValues.flatMap((v) =>
    v.SimulatedRootSHA256 ? [v.SimulatedRootSHA256] : []
  );
  return {
    trustedRoots: Object.fromEntries(SNP_PRODUCTS.map((p) => [p, roots])),
    crlBaseUrl: amdCrlUrl ?? kdsUrl,
  };
}

/**
 * `contrast evidence verify --platform snp`.
 *
 * @throws the typed error of the first failed check (exit code per `cli/exit_codes.ts`)
 */
export async function runSnpEvidenceVerify(
  o: SnpVerifyCommandOptions,
  output: Output = consoleOutput,
): Promise<SnpVerification> {
  let decoded: Record<string, unknown> | undefined;
  try {
    refuseEmptyOptionValues(o);
    const reportBytes = await readFile(o.report, "--report");
    decoded = describeSnpReport(parseInputBytes(o.report, "--report", reportBytes, parseSnpReport));
    const now = o.now !== undefined ? parseRfc3339(o.now) : new Date();
    const referenceValues = o.referenceValues !== undefined
      ? await readSnpReferenceValuesFile(o.referenceValues)
      : defaultSnpReferenceValues();
    const reportData = o.reportData !== undefined
      ? decodeHex(o.reportData, "--report-data", 64)
      : undefined;
    const hostData = o.hostData !== undefined
      ? decodeHex(o.hostData, "--host-data", 32)
      : undefined;
    const chainCache = new ChainCache();
    const fetcher = new CachingFetcher({
      cacheDir: collateralCacheDir(o),
      offline: o.offline ?? false,
      importDirs: o.collateralDir !== undefined ? [o.collateralDir] : [],
      timeoutMs: parseDuration(o.timeout ?? DEFAULT_TIMEOUT),
    });
    const verifier = new SnpEvidenceVerifier({
      referenceValues,
      hostData,
      // Same rule as TDX and as manifest verification: revocation is required unless skipped
      // explicitly; a simulated root has no AMD CRL to check.
      requireRevocationCheck: !o.skipRevocation && referenceValues.some((v) => !isSimulated(v)),
      chainCache,
      collateral: new AmdKdsClient({
        fetcher,
        baseUrl: o.kdsUrl,
        clock: () => now,
        chainCache,
        revocationMarks: revocationMarksFor(o),
        ...kdsTrustedRoots(o.kdsUrl, o.amdCrlUrl, referenceValues),
      }),
      certificates: {
        vek: o.vcek !== undefined ? await readFile(o.vcek, "--vcek") : undefined,
        intermediate: o.ask !== undefined ? await readFile(o.ask, "--ask") : undefined,
        ark: o.ark !== undefined ? await readFile(o.ark, "--ark") : undefined,
      },
    });
    const aux = o.aux !== undefined ? await readFile(o.aux, "--aux") : undefined;
    const result = await verifier.verifyDetailed(
      { platform: "snp", report: reportBytes, ...(aux !== undefined ? { aux } : {}) },
      { now, reportData },
    );
    const source = o.referenceValues !== undefined ? o.referenceValues : "default reference values";
    const checked = { reportData: reportData !== undefined, hostData: hostData !== undefined };
    if (o.json) {
      output.out(JSON.stringify(
        commandResult("evidence verify", ExitCode.Ok, {
          platform: "snp",
          verified: true,
          verifiedAt: now.toISOString(),
          referenceValues: source,
          referenceValueIndex: result.claims.referenceValueIndex,
          rootSha256: result.rootFingerprint,
          simulatedRoot: result.simulatedRoot,
          revocationChecked: result.revocationChecked,
          reportDataChecked: checked.reportData,
          hostDataChecked: checked.hostData,
          tcbStatus: null,
          advisoryIds: [],
          signingKey: result.vek.kind,
          product: result.vek.product,
          evidence: describeSnpReport(result.report),
        }),
        null,
        2,
      ));
    } else {
      for (const line of human(result, source, checked)) output.out(line);
    }
    return result;
  } catch (e) {
    if (!o.json) throw e;
    // Reference values are checked after the signature and chain: a mismatch is genuine evidence.
    const partial = {
      platform: "snp",
      verified: e instanceof ValidationError,
      evidence: decoded ?? null,
    };
    output.out(
      JSON.stringify(commandResult("evidence verify", exitCodeFor(e), partial, e), null, 2),
    );
    throw new FailureWithResult(e, partial, { printed: true });
  }
}

/**
 * `contrast evidence show --platform snp`: decodes without verifying.
 *
 * @throws {ParseError} when the report is malformed
 */
export async function runSnpEvidenceShow(
  o: SnpShowCommandOptions,
  output: Output = consoleOutput,
): Promise<void> {
  const bytes = await readFile(o.report, "--report");
  const report = parseInputBytes(o.report, "--report", bytes, parseSnpReport);
  const fields = describeSnpReport(report);
  if (o.json) {
    output.out(JSON.stringify({ platform: "snp", verified: false, report: fields }, null, 2));
    return;
  }
  output.out(`SNP attestation report (decoded only, NOT verified)`);
  for (const [key, value] of Object.entries(fields)) {
    output.out(
      `  ${key.padEnd(20)} ${
        typeof value === "object" && value !== null ? JSON.stringify(value) : String(value)
      }`,
    );
  }
}
