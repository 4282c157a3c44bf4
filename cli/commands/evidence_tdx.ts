/**
 * The TDX part of `contrast evidence verify|show` (`--platform tdx`). The evidence command
 * dispatches here; these functions do the work and return what to print and the exit code.
 *
 * @module
 */
import { ContrastError, InvalidDocumentError, ParseError } from "../../util/errors/mod.ts";
import { parseInputBytes, readInputFile } from "../../util/files/read_input.ts";
import { commandResult, FailureWithResult } from "../result.ts";
import {
  collateralCacheDir,
  DEFAULT_TIMEOUT,
  parseDuration,
  refuseEmptyOptionValues,
  revocationMarksFor,
} from "../options.ts";
import { decodeHex } from "../../util/bytes/mod.ts";
import { IssueList } from "../../util/json/mod.ts";
import { parseRfc3339 } from "../rfc3339.ts";
import { ChainCache } from "../../x509/chain_cache.ts";
import { ExitCode, exitCodeFor } from "../exit_codes.ts";
import { parseTdxQuote } from "../../tdx/quote/parse_quote.ts";
import { describeTdxQuote } from "../../tdx/quote/describe.ts";
import {
  defaultTdxReferenceValues,
  readTdxReferenceValuesDocument,
  type TdxReferenceValue,
} from "../../tdx/reference_values.ts";
import { INTEL_SGX_ROOT_CA_SHA256 } from "../../tdx/verify/intel_root.ts";
import { NEVER_ALLOWED_TCB_STATUSES } from "../../tdx/validate/validate_quote.ts";
import { tdxClaimDetails, TdxEvidenceVerifier, tdxTrustAnchorOf } from "../../tdx/verifier.ts";
import { collateralSourceForDir, isFlatCollateralDir } from "../../tdx/pcs/collateral_dir.ts";
import type { RevocationMarks } from "../../collateral/revocation_marks.ts";
import {
  StaticTdxCollateral,
  type TdxCollateralSource,
} from "../../tdx/verify/collateral_bundle.ts";
import { isTcbStatus, type TcbStatus } from "../../tdx/collateral/tcb_status.ts";

/** Options of `contrast evidence verify --platform tdx`. */
export interface TdxVerifyCommandOptions {
  /** Path of the quote file. */
  readonly quote: string;
  /** Offline collateral directory (flat or by-URL bundle). */
  readonly collateralDir?: string;
  /** Never use the network. */
  readonly offline?: boolean;
  /** RFC 3339 time to verify at (default: now). */
  readonly now?: string;
  /** JSON file with TDX reference values (an entry, a list, or a manifest). */
  readonly referenceValues?: string;
  /** Hex of the 64 bytes of report data the quote must carry. */
  readonly reportData?: string;
  /** TCB statuses accepted when no reference values are given (default UpToDate). */
  readonly allowTcbStatus?: string;
  /** Go on without a PCK CRL: the explicit opt-out (the output says the check was skipped). */
  readonly skipRevocation?: boolean;
  /** Print JSON. */
  readonly json?: boolean;
  /** Cache root (collateral goes to `<dir>/collateral`). */
  readonly cacheDir?: string;
  /** Time limit of one network request (`--timeout`, e.g. `10s`). */
  readonly timeout?: string;
  /** Intel PCS base URL (default Intel's production API). */
  readonly pcsBaseUrl?: string;
  /**
   * URL of the Intel SGX root CA CRL (default Intel's published location, whatever
   * `pcsBaseUrl` is; with only simulated roots, the stand-in's own).
   */
  readonly rootCaCrlUrl?: string;
  /** Collateral source to use instead of building one (tests, embedding). */
  readonly onlineCollateral?: TdxCollateralSource;
}

/**
 * The collateral source the CLI options describe: a flat collateral directory as is; otherwise
 * the Intel PCS client on the shared caching fetcher, with the directory (if any) as an offline
 * import bundle, and no network when `--offline`. Network responses are cached only when they
 * chain to one of `trustAnchors` (default: the pinned Intel root).
 */
export async function tdxCollateralSource(
  o: Pick<
    TdxVerifyCommandOptions,
    "collateralDir" | "offline" | "cacheDir" | "pcsBaseUrl" | "rootCaCrlUrl" | "timeout"
  >,
  trustAnchors: readonly string[] = [INTEL_SGX_ROOT_CA_SHA256],
  revocationMarks?: RevocationMarks,
): Promise<TdxCollateralSource> {
  if (o.collateralDir !== undefined) {
    const flat = await collateralSourceForDir(o.collateralDir);
    if (flat instanceof StaticTdxCollateral) return flat;
  }
  // The PCS client and the collateral cache load only when collateral may come from them.
  const [{ cachingFetcherTransport, IntelPcsClient, pcsServiceRootCaCrlUrl }, { CachingFetcher }] =
    await Promise.all([
      import("../../tdx/pcs/client.ts"),
      import("../../collateral/caching_fetcher.ts"),
    ]);
  const fetcher = new CachingFetcher({
    offline: o.offline,
    cacheDir: collateralCacheDir(o),
    importDirs: o.collateralDir !== undefined ? [o.collateralDir] : [],
    timeoutMs: parseDuration(o.timeout ?? DEFAULT_TIMEOUT),
  });
  // Intel's root CA CRL comes from Intel's published location unless the user names another; a
  // stand-in serving only simulated roots serves their CRL itself.
  const simulatedOnly = !trustAnchors.includes(INTEL_SGX_ROOT_CA_SHA256);
  const rootCaCrlUrl = o.rootCaCrlUrl ??
    (simulatedOnly && o.pcsBaseUrl !== undefined
      ? pcsServiceRootCaCrlUrl(o.pcsBaseUrl)
      : undefined);
  return new IntelPcsClient({
    transport: cachingFetcherTransport(fetcher, {
      trustAnchors: [...trustAnchors],
      ...(revocationMarks ? { revocationMarks } : {}),
    }),
    baseUrl: o.pcsBaseUrl,
    ...(rootCaCrlUrl !== undefined ? { rootCaCrlUrl } : {}),
  });
}

/** What a command produced. */
export interface CommandResult {
  /** Text for stdout. */
  readonly stdout: string;
  /** Text for stderr. */
  readonly stderr: string;
  /** Exit code. */
  readonly exitCode: number;
  /** The error behind a non-zero exit code. */
  readonly error?: unknown;
  /** The command's result (partial on failure), as in the `--json` document. */
  readonly result?: Record<string, unknown>;
}

function readInput(path: string, flag: string): Promise<Uint8Array> {
  return readInputFile(path, flag);
}

/**
 * Reads TDX reference values from a file: a manifest, a `{"tdx": [...]}` object, a list of
 * entries, or one entry.
 *
 * @throws {ParseError} naming `--reference-values` when the file is not JSON
 * @throws {InvalidDocumentError} with every problem and its path, naming the file
 */
export async function readTdxReferenceValuesFile(path: string): Promise<TdxReferenceValue[]> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(await readInput(path, "--reference-values")));
  } catch (e) {
    if (e instanceof ContrastError) throw e;
    throw new ParseError("--reference-values", `${path} is not JSON: ${(e as Error).message}`);
  }
  try {
    return readTdxReferenceValuesDocument(value, new IssueList());
  } catch (error) {
    throw error instanceof InvalidDocumentError ? error.inFile(path) : error;
  }
}

/** The TCB statuses `--allow-tcb-status` names (default: UpToDate). */
function allowedTcbStatuses(list: string | undefined): TcbStatus[] {
  if (list === undefined) return ["UpToDate"];
  return list.split(",").map((s) => s.trim()).map((s) => {
    if (!isTcbStatus(s)) throw new ParseError("--allow-tcb-status", `unknown TCB status ${s}`);
    if (NEVER_ALLOWED_TCB_STATUSES.includes(s)) {
      throw new ParseError("--allow-tcb-status", `a ${s} TCB can never be allowed`);
    }
    return s;
  });
}

/**
 * Runs `contrast evidence verify --platform tdx` through {@link TdxEvidenceVerifier}, the path the
 * Coordinator and the initializer use: the reference values of `--reference-values`, or else the
 * built-in defaults ({@link defaultTdxReferenceValues}: no DEBUG TD, SEPT_VE_DISABLE set, TCB
 * status per `--allow-tcb-status`). Never throws: errors become exit codes.
 */
export async function runTdxEvidenceVerify(o: TdxVerifyCommandOptions): Promise<CommandResult> {
  let partial: Record<string, unknown> = { platform: "tdx", verified: false, evidence: null };
  try {
    refuseEmptyOptionValues(o);
    const now = o.now !== undefined ? parseRfc3339(o.now) : new Date();
    const report = await readInput(o.quote, "--quote");
    const quote = parseInputBytes(o.quote, "--quote", report, parseTdxQuote);
    if (o.referenceValues !== undefined && o.allowTcbStatus !== undefined) {
      throw new ParseError(
        "--allow-tcb-status",
        "applies only without --reference-values (each reference value names AllowedTcbStatuses)",
      );
    }
    const refs = o.referenceValues !== undefined
      ? await readTdxReferenceValuesFile(o.referenceValues)
      : defaultTdxReferenceValues(allowedTcbStatuses(o.allowTcbStatus));
    const reportData = o.reportData !== undefined
      ? decodeHex(o.reportData, "--report-data", 64)
      : undefined;
    const anchors = [...new Set(refs.map(tdxTrustAnchorOf).filter((a) => a !== undefined))];
    // Persisted in the collateral cache; a flat collateral folder (which uses no cache) is
    // checked against the cache's marks without writing them.
    const flat = o.collateralDir !== undefined && await isFlatCollateralDir(o.collateralDir);
    const revocationMarks = revocationMarksFor(o, { readOnly: flat });
    const collateral = o.onlineCollateral !== undefined && o.collateralDir === undefined
      ? o.onlineCollateral
      : await tdxCollateralSource(o, anchors, revocationMarks);
    const verifier = new TdxEvidenceVerifier({
      referenceValues: refs,
      collateral,
      chainCache: new ChainCache(),
      requirePckCrl: !o.skipRevocation,
      revocationMarks,
    });
    const outcome = await verifier.verifyDetailed(
      { platform: "tdx", report },
      { now, reportData: reportData ?? quote.body.reportData },
    );
    if (outcome.verified) {
      const verified = outcome.verified;
      partial = {
        platform: "tdx",
        verified: true,
        verifiedAt: now.toISOString(),
        referenceValues: o.referenceValues ?? "default reference values",
        referenceValueIndex: null,
        rootSha256: verified.rootFingerprint,
        simulatedRoot: verified.rootFingerprint !== INTEL_SGX_ROOT_CA_SHA256,
        revocationChecked: verified.pckRevocationChecked,
        tcbStatus: verified.tcb.status,
        advisoryIds: verified.tcb.advisoryIds,
        reportDataChecked: reportData !== undefined,
        trailingBytes: quote.trailingBytes,
        evidence: tdxClaimDetails(verified),
      };
    }
    if (!outcome.accepted) throw outcome.error;
    if (o.referenceValues !== undefined) {
      partial.referenceValueIndex = outcome.claims.referenceValueIndex;
    }
    return {
      stdout: o.json
        ? JSON.stringify(commandResult("evidence verify", ExitCode.Ok, partial), null, 2) + "\n"
        : render(true, partial),
      stderr: "",
      exitCode: ExitCode.Ok,
      result: partial,
    };
  } catch (e) {
    const code = exitCodeFor(e);
    const message = e instanceof ContrastError ? e.message : String(e);
    return {
      stdout: o.json
        ? JSON.stringify(commandResult("evidence verify", code, partial, e), null, 2) + "\n"
        : (partial.verified ? render(false, partial) : ""),
      stderr: `error: ${message}\n`,
      exitCode: code,
      error: e,
      result: partial,
    };
  }
}

function render(ok: boolean, r: Record<string, unknown>): string {
  const claims = (r.evidence ?? {}) as Record<string, string>;
  const lines = [
    `verdict: ${ok ? "OK" : "REJECTED"}`,
    `signatures and chain: ${r.verified ? "verified" : "not verified"}`,
    `TCB status: ${r.tcbStatus ?? "unknown"}`,
    `advisories: ${(r.advisoryIds as string[] | undefined)?.join(", ") || "none"}`,
    `PCK revocation checked: ${r.revocationChecked ? "yes" : "NO (skipped on request)"}`,
    `report data: ${
      r.reportDataChecked
        ? "matches --report-data"
        : "NOT checked (no --report-data), so nothing shows this quote is fresh: an old one " +
          "replayed passes"
    }`,
  ];
  if (typeof r.referenceValueIndex === "number") {
    lines.push(`reference value: #${r.referenceValueIndex}`);
  }
  for (
    const k of [
      "fmspc",
      "mrTd",
      "mrSeam",
      "mrConfigId",
      "rtmr0",
      "rtmr1",
      "rtmr2",
      "rtmr3",
      "xfam",
      "tdAttributes",
    ]
  ) {
    if (claims[k] !== undefined) lines.push(`${k}: ${claims[k]}`);
  }
  return lines.join("\n") + "\n";
}

/** Runs `contrast evidence show --platform tdx`. Never throws: errors become exit codes. */
export async function runTdxEvidenceShow(
  o: { quote: string; json?: boolean },
): Promise<CommandResult> {
  try {
    const bytes = await readInput(o.quote, "--quote");
    const quote = parseInputBytes(o.quote, "--quote", bytes, parseTdxQuote);
    const d = describeTdxQuote(quote);
    const text = o.json ? JSON.stringify(d, null, 2) + "\n" : flatten(d).join("\n") + "\n";
    return { stdout: text, stderr: "", exitCode: ExitCode.Ok };
  } catch (e) {
    const message = e instanceof ContrastError ? e.message : String(e);
    return {
      stdout: o.json
        ? JSON.stringify(commandResult("evidence show", exitCodeFor(e), null, e), null, 2) + "\n"
        : "",
      stderr: `error: ${message}\n`,
      exitCode: exitCodeFor(e),
      error: e,
    };
  }
}

function flatten(value: unknown, prefix = ""): string[] {
  if (value !== null && typeof value === "object") {
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) =>
      flatten(v, prefix ? `${prefix}.${k}` : k)
    );
  }
  return [`${prefix}: ${value}`];
}

/**
 * Prints a result for the `contrast evidence` command and rethrows its error, so the CLI's
 * entry point prints it and exits with the matching code.
 */
export async function printTdxResult(result: Promise<CommandResult>): Promise<void> {
  const r = await result;
  if (r.stdout) await Deno.stdout.write(new TextEncoder().encode(r.stdout));
  // The JSON document (if asked for) is printed already.
  if (r.exitCode !== ExitCode.Ok) {
    throw new FailureWithResult(r.error, r.result ?? {}, { printed: true });
  }
}
