/**
 * Options several `contrast` commands share, defined once so they read and behave the same:
 * `--timeout`, the collateral flags (`--offline`, `--cache-dir`, `--collateral-dir`) and
 * `--workspace-dir`, plus the one cache root every command uses.
 *
 * @module
 */
import type { Command } from "commander";
import { ParseError } from "../util/errors/mod.ts";
import { REVOCATION_MARKS_FILE, RevocationMarks } from "../collateral/revocation_marks.ts";
import { addOptionSpecs, type OptionSpec } from "./option_specs.ts";

/**
 * Refuses an option given an empty (or blank) value, such as `--report-data=` or
 * `--report-data "$NONCE"` with `NONCE` unset: an empty value never means "use the default" or
 * "skip the check", so a script's mistake cannot silently turn a check off. `options` are parsed
 * options (camel-case keys, as commander hands them over); repeatable options' values are checked
 * one by one, anything not a string is ignored.
 *
 * @throws {ParseError} naming the option (`--report-data`)
 */
export function refuseEmptyOptionValues(options: object): void {
  for (const [key, value] of Object.entries(options)) {
    const values: unknown[] = Array.isArray(value) ? value : [value];
    if (values.some((v) => typeof v === "string" && v.trim() === "")) {
      throw new ParseError(
        `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
        "empty value: give a value, or leave the option out",
      );
    }
  }
}

/** Default timeout of one network operation. */
export const DEFAULT_TIMEOUT = "30s";

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Milliseconds of a duration such as `500ms`, `10s`, `2m`, `1m30s` or a plain number of seconds.
 *
 * @throws {ParseError} naming `flag` for anything else or a zero duration
 */
export function parseDuration(text: string, flag = "--timeout"): number {
  const trimmed = text.trim();
  let ms = 0;
  if (/^\d+(\.\d+)?$/.test(trimmed)) ms = Number(trimmed) * 1000;
  else {
    const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
    if (parts.length === 0 || parts.map((p) => p[0]).join("") !== trimmed) {
      throw new ParseError(flag, `"${text}" is not a duration (e.g. 500ms, 10s, 2m, 1m30s)`);
    }
    for (const [, value, unit] of parts) ms += Number(value) * UNIT_MS[unit!]!;
  }
  if (!(ms > 0)) throw new ParseError(flag, "must be greater than zero");
  return Math.round(ms);
}

/**
 * The cache root every command shares: `$XDG_CACHE_HOME/contrast`, else `~/.cache/contrast`, else
 * `./.cache/contrast` when there is no home directory. Collateral lives in `collateral/` below it,
 * images in `images/`.
 */
export function cacheRoot(): string {
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  if (xdg) return `${xdg}/contrast`;
  const home = Deno.env.get("HOME");
  return home ? `${home}/.cache/contrast` : ".cache/contrast";
}

/** The flags of {@link addCollateralOptions}, as commander hands them over. */
export interface CollateralFlags {
  /** `--offline`. */
  readonly offline?: boolean;
  /** `--cache-dir`: the cache root (collateral goes to `<dir>/collateral`). */
  readonly cacheDir?: string;
  /** `--collateral-dir`: an offline bundle of vendor responses. */
  readonly collateralDir?: string;
  /** `--kds-url`: AMD KDS base URL. */
  readonly kdsUrl?: string;
  /** `--pcs-url`: Intel PCS base URL. */
  readonly pcsUrl?: string;
  /** `--root-ca-crl-url`: where real TDX verification takes the Intel SGX Root CA CRL. */
  readonly rootCaCrlUrl?: string;
  /** `--amd-crl-url`: the base URL real SNP verification takes AMD's CRLs from. */
  readonly amdCrlUrl?: string;
}

/**
 * `--offline`, `--cache-dir`, `--collateral-dir`, `--kds-url`, `--pcs-url`, `--root-ca-crl-url`
 * and `--amd-crl-url`.
 */
export function collateralOptionSpecs(): OptionSpec[] {
  return [
    {
      flags: "--offline",
      description: "never use the network: read only the cache and --collateral-dir",
    },
    {
      flags: "--cache-dir <dir>",
      description: `cache root shared by every command (default: ${cacheRoot()})`,
    },
    {
      flags: "--collateral-dir <dir>",
      description: "offline bundle of vendor collateral (AMD KDS, Intel PCS)",
    },
    {
      flags: "--kds-url <url>",
      description: "AMD KDS base URL (default: CONTRAST_KDS_URL, then AMD's)",
    },
    {
      flags: "--pcs-url <url>",
      description: "Intel PCS base URL (default: CONTRAST_PCS_URL, then Intel's)",
    },
    {
      flags: "--root-ca-crl-url <url>",
      description: "TDX: URL of the Intel SGX root CA CRL, whatever --pcs-url is (default: " +
        "CONTRAST_ROOT_CA_CRL_URL, then Intel's published location)",
    },
    {
      flags: "--amd-crl-url <url>",
      description: "SNP: base URL of AMD's CRLs (<url>/vcek/v1/<product>/crl), whatever " +
        "--kds-url is (default: CONTRAST_AMD_CRL_URL, then AMD's KDS)",
    },
  ];
}

/** Adds the options of {@link collateralOptionSpecs}. */
export function addCollateralOptions(command: Command): Command {
  return addOptionSpecs(command, collateralOptionSpecs());
}

/** Vendor service base URLs a command uses; undefined = the vendor's own. */
interface VendorServiceUrls {
  /** AMD KDS base URL. */
  readonly kdsBaseUrl?: string;
  /** Intel PCS base URL. */
  readonly pcsBaseUrl?: string;
  /** Intel SGX Root CA CRL URL for real TDX verification. */
  readonly rootCaCrlUrl?: string;
  /** Base URL of AMD's CRLs for real SNP verification. */
  readonly amdCrlUrl?: string;
}

function serviceUrl(
  flag: string,
  variable: string,
  value: string | undefined,
  env: (name: string) => string | undefined,
): string | undefined {
  const [source, text] = value !== undefined
    ? [flag, value]
    : [variable, env(variable) || undefined];
  if (text === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ParseError(source, `"${text}" is not a URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new ParseError(source, `"${text}" is not an http(s) URL`);
  }
  return text;
}

/**
 * The KDS and PCS base URLs and the vendor CRL URLs every command uses, resolved one way: the
 * flag (`--kds-url`, `--pcs-url`, `--root-ca-crl-url`, `--amd-crl-url`), else the environment
 * (`CONTRAST_KDS_URL`, `CONTRAST_PCS_URL`, `CONTRAST_ROOT_CA_CRL_URL`, `CONTRAST_AMD_CRL_URL`),
 * else undefined (the vendor's own service, and Intel's root CA CRL and AMD's CRLs from the
 * vendors' own locations whatever the PCS or KDS URL).
 *
 * @throws {ParseError} naming the flag or variable when its value is not an http(s) URL
 */
export function vendorServiceUrls(
  flags: Pick<CollateralFlags, "kdsUrl" | "pcsUrl" | "rootCaCrlUrl" | "amdCrlUrl">,
  env: (name: string) => string | undefined = (name) => Deno.env.get(name),
): VendorServiceUrls {
  const kds = serviceUrl("--kds-url", "CONTRAST_KDS_URL", flags.kdsUrl, env);
  const pcs = serviceUrl("--pcs-url", "CONTRAST_PCS_URL", flags.pcsUrl, env);
  const rootCrl = serviceUrl(
    "--root-ca-crl-url",
    "CONTRAST_ROOT_CA_CRL_URL",
    flags.rootCaCrlUrl,
    env,
  );
  const amdCrl = serviceUrl("--amd-crl-url", "CONTRAST_AMD_CRL_URL", flags.amdCrlUrl, env);
  return {
    ...(kds ? { kdsBaseUrl: kds } : {}),
    ...(pcs ? { pcsBaseUrl: pcs } : {}),
    ...(rootCrl ? { rootCaCrlUrl: rootCrl } : {}),
    ...(amdCrl ? { amdCrlUrl: amdCrl } : {}),
  };
}

/**
 * Where collateral is cached for `flags`: `<--cache-dir>/collateral`, else the older
 * `CONTRAST_COLLATERAL_CACHE` (the collateral folder itself), else the shared cache root's.
 */
export function collateralCacheDir(flags: CollateralFlags): string {
  if (flags.cacheDir !== undefined) return `${flags.cacheDir}/collateral`;
  return Deno.env.get("CONTRAST_COLLATERAL_CACHE") || `${cacheRoot()}/collateral`;
}

/**
 * The revocation marks `evidence verify` keeps (the newest AMD CRL, Intel CRLs, TCB info and QE
 * identity accepted; see `collateral/revocation_marks.ts`): persisted in the collateral cache
 * ({@link collateralCacheDir}), so a cache or bundle holding an older genuine document is refused
 * on the next run too. With `--now` (verifying as of another time, e.g. a recorded quote with the
 * collateral of its day) they live in memory only: a mark from a later run says nothing about
 * that time, and nothing that run accepts is kept. `options.readOnly` checks against the file
 * without writing it (collateral given as a flat folder, which uses no cache).
 */
export function revocationMarksFor(
  flags: CollateralFlags & { readonly now?: string },
  options: { readonly readOnly?: boolean } = {},
): RevocationMarks {
  if (flags.now !== undefined) return new RevocationMarks();
  return new RevocationMarks({
    file: `${collateralCacheDir(flags)}/${REVOCATION_MARKS_FILE}`,
    readOnly: options.readOnly ?? false,
  });
}

/** Whether `flags` forbid the network: `--offline`, or the older `CONTRAST_OFFLINE=1`. */
export function offlineMode(flags: Pick<CollateralFlags, "offline">): boolean {
  return flags.offline === true || Deno.env.get("CONTRAST_OFFLINE") === "1";
}

/** Commander's collector of a repeatable option: each occurrence appends its value. */
export function collectRepeated(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `--timeout <duration>` (one network operation; the error names the address). */
export const TIMEOUT_OPTION: OptionSpec = {
  flags: "--timeout <duration>",
  description: "time limit of each network operation (e.g. 10s, 2m)",
  defaultValue: DEFAULT_TIMEOUT,
};

/** Adds {@link TIMEOUT_OPTION}. */
export function addTimeoutOption(command: Command): Command {
  return addOptionSpecs(command, [TIMEOUT_OPTION]);
}

/** Adds `-w, --workspace-dir <dir>` (and the older `--workspace`, hidden). */
export function addWorkspaceOption(command: Command, what: string): Command {
  return command
    .option("-w, --workspace-dir <dir>", `workspace: ${what}`, ".")
    .addOption(command.createOption("--workspace <dir>").hideHelp());
}

/** The workspace directory of parsed options (`--workspace-dir`, or the older `--workspace`). */
export function workspaceDir(o: { workspaceDir?: string; workspace?: string }): string {
  return o.workspace ?? o.workspaceDir ?? ".";
}

/** `name` inside the workspace, unless `explicit` names another path. */
export function inWorkspace(
  o: { workspaceDir?: string; workspace?: string },
  name: string,
  explicit?: string,
): string {
  if (explicit !== undefined) return explicit;
  const dir = workspaceDir(o);
  return dir === "." ? name : `${dir.replace(/\/$/, "")}/${name}`;
}
