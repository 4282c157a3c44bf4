/**
 * `contrast evidence show|verify --platform <p>`: decode or verify attestation evidence from
 * files. Each platform plugs in with one entry in {@link EVIDENCE_PLATFORMS}; options that only
 * one platform understands are listed in its entry and rejected for the others.
 *
 * @module
 */
import type { Command } from "commander";
import { ParseError, UnavailableError, VerificationError } from "../../util/errors/mod.ts";
import { ExitCode } from "../exit_codes.ts";
import {
  collateralOptionSpecs,
  offlineMode,
  TIMEOUT_OPTION,
  vendorServiceUrls,
} from "../options.ts";
import { addOptionSpecs, type OptionSpec, parsePlainOptions } from "../option_specs.ts";
import type { SnpVerifyCommandOptions } from "./evidence_snp.ts";

// The platform modules (and their verifiers' packages) load only when their platform is used.
const snpCommands = () => import("./evidence_snp.ts");
const tdxCommands = () => import("./evidence_tdx.ts");

/**
 * Every option of `contrast evidence verify`, as commander hands them over: the SNP command's
 * options (the evidence file optional here: TDX may name it `--quote`) and the TDX-only ones.
 */
export interface EvidenceVerifyOptions extends Partial<SnpVerifyCommandOptions> {
  /** `--platform`: a key of {@link EVIDENCE_PLATFORMS}. */
  readonly platform: string;
  /** TDX: the quote file (same as --report). */
  readonly quote?: string;
  /** TDX: TCB statuses accepted without reference values (comma-separated). */
  readonly allowTcbStatus?: string;
  /** TDX: Intel PCS base URL. */
  readonly pcsUrl?: string;
  /** TDX: URL of the Intel SGX root CA CRL. */
  readonly rootCaCrlUrl?: string;
}

/** Options of `contrast evidence show`. */
export interface EvidenceShowOptions {
  readonly platform: string;
  readonly report?: string;
  readonly quote?: string;
  readonly json?: boolean;
}

/** How one platform shows and verifies evidence. Failures throw typed errors. */
export interface EvidencePlatform {
  /** Options of `verify` only this platform accepts (commander's camel-case names). */
  readonly ownOptions: readonly (keyof EvidenceVerifyOptions)[];
  /** Decodes and prints. */
  show(o: EvidenceShowOptions & { readonly report: string }): Promise<void>;
  /** Verifies and prints. */
  verify(o: EvidenceVerifyOptions & { readonly report: string }): Promise<void>;
}

/** What a platform command that reports instead of throwing produced. */
export interface EvidenceCommandResult {
  /** Text for stdout. */
  readonly stdout: string;
  /** Text for stderr (the reason on failure). */
  readonly stderr: string;
  /** Exit code per `cli/exit_codes.ts`. */
  readonly exitCode: number;
}

/**
 * Prints a platform's {@link EvidenceCommandResult} and, on failure, throws the typed error
 * whose exit code (`cli/exit_codes.ts`) equals `exitCode`, with the platform's stderr as reason.
 * Lets a platform written that way plug in as
 * `verify: async (o) => reportResult(await runXVerify({...}))`.
 */
export function reportResult(result: EvidenceCommandResult): void {
  if (result.stdout) console.log(result.stdout.replace(/\n$/, ""));
  if (result.exitCode === ExitCode.Ok) {
    if (result.stderr) console.error(result.stderr.replace(/\n$/, ""));
    return;
  }
  const reason = result.stderr.trim().replace(/^error:\s*/, "") || "failed";
  if (result.exitCode === ExitCode.BadInput) throw new ParseError("", reason);
  if (result.exitCode === ExitCode.Unavailable) throw new UnavailableError("", reason);
  throw new VerificationError("", reason);
}

/** The platforms, by `--platform` value. */
export const EVIDENCE_PLATFORMS: Readonly<Record<string, EvidencePlatform>> = {
  snp: {
    ownOptions: ["aux", "vcek", "ask", "ark", "kdsUrl", "amdCrlUrl", "hostData"],
    show: async (o) => (await snpCommands()).runSnpEvidenceShow(o),
    verify: async (o) => {
      const { kdsBaseUrl, amdCrlUrl } = vendorServiceUrls({
        kdsUrl: o.kdsUrl,
        amdCrlUrl: o.amdCrlUrl,
      });
      await (await snpCommands()).runSnpEvidenceVerify({ ...o, kdsUrl: kdsBaseUrl, amdCrlUrl });
    },
  },
  tdx: {
    ownOptions: ["quote", "allowTcbStatus", "pcsUrl", "rootCaCrlUrl"],
    show: async (o) => {
      const tdx = await tdxCommands();
      await tdx.printTdxResult(tdx.runTdxEvidenceShow({ quote: o.report, json: o.json }));
    },
    verify: async (o) => {
      const tdx = await tdxCommands();
      await tdx.printTdxResult(
        tdx.runTdxEvidenceVerify({
          ...o,
          quote: o.report,
          ...vendorServiceUrls({ pcsUrl: o.pcsUrl, rootCaCrlUrl: o.rootCaCrlUrl }),
        }),
      );
    },
  },
};

const PLATFORM_SPECIFIC = new Set(
  Object.values(EVIDENCE_PLATFORMS).flatMap((p) => p.ownOptions),
);

function platformOf(name: string): EvidencePlatform {
  const platform = EVIDENCE_PLATFORMS[name];
  if (platform === undefined) {
    throw new ParseError(
      "--platform",
      `unknown platform "${name}" (known: ${Object.keys(EVIDENCE_PLATFORMS).join(", ")})`,
    );
  }
  return platform;
}

function requireReport<T extends { report?: string; quote?: string }>(
  o: T,
): T & { report: string } {
  const report = o.report ?? o.quote;
  if (report === undefined) {
    throw new ParseError("--report", "the evidence file is required (TDX: --quote)");
  }
  return { ...o, report };
}

const PLATFORM_OPTION: OptionSpec = {
  flags: "--platform <platform>",
  description: "snp or tdx",
  required: true,
};
const REPORT_OPTION: OptionSpec = {
  flags: "--report <file>",
  description: "the evidence file (SNP: the 1184-byte attestation report)",
};
const QUOTE_OPTION: OptionSpec = {
  flags: "--quote <file>",
  description: "TDX: the quote file (v4 or v5; trailing padding is allowed)",
};

/** The options of `contrast evidence show`, in help order. */
function evidenceShowOptions(): OptionSpec[] {
  return [
    PLATFORM_OPTION,
    REPORT_OPTION,
    QUOTE_OPTION,
    { flags: "--json", description: "print JSON" },
  ];
}

/** The options of `contrast evidence verify`, in help order. */
function evidenceVerifyOptions(): OptionSpec[] {
  return [
    PLATFORM_OPTION,
    REPORT_OPTION,
    {
      flags: "--aux <file>",
      description: "SNP: the auxblob (certificate table) obtained with the report",
    },
    { flags: "--vcek <file>", description: "SNP: the VCEK or VLEK (DER or PEM)" },
    { flags: "--ask <file>", description: "SNP: the ASK or ASVK (DER or PEM)" },
    {
      flags: "--ark <file>",
      description: "SNP: the ARK (DER or PEM); it must be the pinned AMD root",
    },
    { flags: "--now <rfc3339>", description: "verify at this time instead of now" },
    {
      flags: "--reference-values <file>",
      description: "reference values JSON (manifest, {snp|tdx: [...]}, list or one entry; " +
        "default: built-in defaults that refuse debug guests)",
    },
    {
      flags: "--report-data <hex>",
      description: "the 64 bytes of report data the evidence must carry",
    },
    {
      flags: "--host-data <hex>",
      description: "SNP: the 32 bytes of HOST_DATA the report must carry",
    },
    QUOTE_OPTION,
    {
      flags: "--allow-tcb-status <list>",
      description: "TDX: TCB statuses accepted without reference values",
    },
    {
      flags: "--skip-revocation",
      description:
        "go on when no vendor CRL (AMD CRL, Intel PCK CRL) can be checked; the output says so",
    },
    {
      flags: "--json",
      description: "print the result as JSON (contrast-result/v1), failures included",
    },
    ...collateralOptionSpecs(),
    TIMEOUT_OPTION,
  ];
}

/** Runs `contrast evidence show` with the options commander (or the plain reader) parsed. */
async function runEvidenceShow(o: EvidenceShowOptions): Promise<void> {
  await platformOf(o.platform).show(requireReport(o));
}

/** Runs `contrast evidence verify` with the options commander (or the plain reader) parsed. */
async function runEvidenceVerify(o: EvidenceVerifyOptions): Promise<void> {
  const platform = platformOf(o.platform);
  for (const key of PLATFORM_SPECIFIC) {
    if (o[key] !== undefined && !platform.ownOptions.includes(key)) {
      const flag = `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      throw new ParseError(flag, `not an option of --platform ${o.platform}`);
    }
  }
  // The collateral settings every command shares (flags, else their environment variables).
  await platform.verify(requireReport({ ...o, offline: offlineMode(o) }));
}

/**
 * Runs `contrast evidence show|verify <options>` when the options are in the plain form
 * (`cli/option_specs.ts`), without commander, and returns true; false (nothing run) for any
 * other arguments, which commander then parses. `args` are what follows `evidence`.
 */
export async function runEvidencePlain(args: readonly string[]): Promise<boolean> {
  const [subcommand, ...rest] = args;
  if (subcommand === "verify") {
    const o = parsePlainOptions(rest, evidenceVerifyOptions());
    if (o === undefined) return false;
    await runEvidenceVerify(o as unknown as EvidenceVerifyOptions);
    return true;
  }
  if (subcommand === "show") {
    const o = parsePlainOptions(rest, evidenceShowOptions());
    if (o === undefined) return false;
    await runEvidenceShow(o as unknown as EvidenceShowOptions);
    return true;
  }
  return false;
}

/** Registers `contrast evidence show` and `contrast evidence verify`. */
export function registerEvidenceCommand(program: Command): void {
  const evidence = program
    .command("evidence")
    .description("Decode or verify attestation evidence (SEV-SNP reports, TDX quotes) from files.");

  addOptionSpecs(
    evidence
      .command("show")
      .description("Decode evidence and print every field. Decoding is not verification."),
    evidenceShowOptions(),
  ).action(runEvidenceShow);

  addOptionSpecs(
    evidence
      .command("verify")
      .description(
        "Verify evidence against a pinned vendor root and reference values.\n\n" +
          "Checks the signature, the vendor chain, revocation, the TCB and the reference values; " +
          "exit 0 only when genuine and matching.",
      ),
    evidenceVerifyOptions(),
  ).action(runEvidenceVerify);
}

/** The option declarations of `evidence show` and `evidence verify` (for tests). */
export const EVIDENCE_OPTION_SPECS = {
  show: evidenceShowOptions,
  verify: evidenceVerifyOptions,
};
