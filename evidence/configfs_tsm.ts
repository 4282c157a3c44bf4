/**
 * Guest side: obtaining attestation evidence through the Linux configfs-tsm report interface
 * (`/sys/kernel/config/tsm/report`, kernel ABI `Documentation/ABI/testing/configfs-tsm`).
 *
 * One report: create a fresh entry directory, write `privlevel` (optional) and the 64-byte
 * `inblob`, read `generation` (it must equal the number of writes made, or someone else wrote to
 * the entry), read `outblob`, `auxblob` (optional) and `provider`, re-read `generation` (it must
 * not have moved: otherwise the outblob may belong to another writer's input), and remove the
 * entry. The provider is `sev_guest` (SNP report; auxblob = certificate table) or `tdx_guest`
 * (TDX quote).
 *
 * @module
 */
import {
  ContrastError,
  ParseError,
  UnavailableError,
  ValidationError,
} from "../util/errors/mod.ts";
import type { Evidence, TeePlatform } from "./types.ts";

/**
 * Default root of the configfs-tsm report interface.
 *
 * @example Point configfs-tsm at its usual place
 * ```ts
 * import { ConfigfsTsm, DEFAULT_TSM_REPORT_ROOT } from "./mod.ts";
 *
 * const tsm = new ConfigfsTsm({ root: DEFAULT_TSM_REPORT_ROOT });
 * console.log(tsm.root);
 * ```
 */
export const DEFAULT_TSM_REPORT_ROOT = "/sys/kernel/config/tsm/report";

/** Size of `inblob` contrast writes: the report data of SNP and TDX. */
const TSM_INBLOB_SIZE = 64;

/** Highest privilege level the ABI defines (SNP VMPL 0–3). */
const TSM_MAX_PRIVLEVEL = 3;

/**
 * The file operations configfs-tsm needs. The default uses Deno's file system; a test emulator
 * on a normal directory supplies its own (its `rmdir` must remove the files it created).
 *
 * @example Log every configfs write
 * ```ts
 * import { ConfigfsTsm, type TsmFileSystem } from "./mod.ts";
 *
 * const logging: TsmFileSystem = {
 *   mkdir: (path) => Deno.mkdir(path),
 *   rmdir: (path) => Deno.remove(path),
 *   readFile: (path) => Deno.readFile(path),
 *   writeFile: (path, data) => {
 *     console.log("write", path);
 *     return Deno.writeFile(path, data);
 *   },
 * };
 * const tsm = new ConfigfsTsm({ fs: logging });
 * ```
 */
export interface TsmFileSystem {
  /** Creates one directory (not recursive). */
  mkdir(path: string): Promise<void>;
  /** Removes an entry directory. */
  rmdir(path: string): Promise<void>;
  /** Reads a whole attribute. */
  readFile(path: string): Promise<Uint8Array>;
  /** Writes a whole attribute in one write. */
  writeFile(path: string, data: Uint8Array): Promise<void>;
}

/** configfs-tsm through Deno's file system. */
const denoTsmFileSystem: TsmFileSystem = {
  mkdir: (path) => Deno.mkdir(path),
  rmdir: (path) => Deno.remove(path),
  readFile: (path) => Deno.readFile(path),
  writeFile: (path, data) => Deno.writeFile(path, data),
};

/**
 * Options of a {@link ConfigfsTsm}.
 *
 * @example A configfs-tsm mounted elsewhere
 * ```ts
 * import { ConfigfsTsm, type ConfigfsTsmOptions } from "./mod.ts";
 *
 * const options: ConfigfsTsmOptions = { root: "/mnt/config/tsm/report" };
 * console.log(new ConfigfsTsm(options).root);
 * ```
 */
export interface ConfigfsTsmOptions {
  /** The report root (default {@link DEFAULT_TSM_REPORT_ROOT}). */
  readonly root?: string;
  /** File operations (default {@link denoTsmFileSystem}). */
  readonly fs?: TsmFileSystem;
  /**
   * How long to wait for `generation` to reach the number of writes, in milliseconds. The kernel
   * updates it synchronously, so this only matters for emulators. Default 5000.
   */
  readonly settleTimeoutMs?: number;
}

/**
 * Options of one report.
 *
 * @example A report at privilege level 2
 * ```ts
 * import { ConfigfsTsm, type TsmReportOptions } from "./mod.ts";
 *
 * async function reportAt(reportData: Uint8Array) {
 *   const options: TsmReportOptions = { privlevel: 2 };
 *   return await new ConfigfsTsm().getReport(reportData, options);
 * }
 * ```
 */
export interface TsmReportOptions {
  /** Privilege level to request (SNP VMPL), 0–3; not written when absent. */
  readonly privlevel?: number;
}

/**
 * What configfs-tsm returned. Untrusted until verified.
 *
 * @example Which provider produced a report
 * ```ts
 * import type { TsmReport } from "./mod.ts";
 *
 * function describe(report: TsmReport): string {
 *   return `${report.provider}: ${report.outblob.length} bytes (generation ${report.generation})`;
 * }
 * ```
 */
export interface TsmReport {
  /** The report (SNP) or quote (TDX). */
  readonly outblob: Uint8Array;
  /** Auxiliary data (SNP: GUID certificate table), when the provider gives any. */
  readonly auxblob?: Uint8Array;
  /** The provider name, e.g. `sev_guest` or `tdx_guest`. */
  readonly provider: string;
  /** The entry's generation the report belongs to. */
  readonly generation: number;
}

/**
 * Access to configfs-tsm reports. Holds no state besides its options.
 *
 * @example Ask the kernel for a report binding 64 bytes
 * ```ts
 * import { ConfigfsTsm, evidenceFromTsmReport } from "./mod.ts";
 *
 * async function evidence(reportData: Uint8Array) {
 *   const tsm = new ConfigfsTsm();
 *   if (!(await tsm.available())) throw new Error("not a confidential VM");
 *   return evidenceFromTsmReport(await tsm.getReport(reportData));
 * }
 * ```
 */
export class ConfigfsTsm {
  /** The report root. */
  readonly root: string;
  readonly #fs: TsmFileSystem;
  readonly #settleTimeoutMs: number;

  /** Access to the configfs-tsm report interface under `options.root` (default the kernel's). */
  constructor(options: ConfigfsTsmOptions = {}) {
    this.root = (options.root ?? DEFAULT_TSM_REPORT_ROOT).replace(/\/+$/, "");
    this.#fs = options.fs ?? denoTsmFileSystem;
    this.#settleTimeoutMs = options.settleTimeoutMs ?? 5000;
  }

  /** Whether the report root exists (configfs mounted, kernel built with TSM reports). */
  async available(): Promise<boolean> {
    try {
      return (await Deno.stat(this.root)).isDirectory;
    } catch {
      return false;
    }
  }

  /**
   * Gets a report binding `inblob` (exactly 64 bytes).
   *
   * @throws {ParseError} naming `inblob` or `privlevel` when the input is malformed
   * @throws {ValidationError} naming `privlevel` when it is below the provider's floor
   * @throws {UnavailableError} naming the attribute that could not be used, or `generation` when
   *   another writer raced with this one
   */
  async getReport(inblob: Uint8Array, options: TsmReportOptions = {}): Promise<TsmReport> {
    if (inblob.length !== TSM_INBLOB_SIZE) {
      throw new ParseError(
        "inblob",
        `must be exactly ${TSM_INBLOB_SIZE} bytes, got ${inblob.length}`,
      );
    }
    const { privlevel } = options;
    if (
      privlevel !== undefined &&
      (!Number.isInteger(privlevel) || privlevel < 0 || privlevel > TSM_MAX_PRIVLEVEL)
    ) {
      throw new ParseError(
        "privlevel",
        `must be an integer 0–${TSM_MAX_PRIVLEVEL}, got ${privlevel}`,
      );
    }
    const entry = `${this.root}/contrast-${crypto.randomUUID()}`;
    try {
      await this.#fs.mkdir(entry);
    } catch (e) {
      throw new UnavailableError(
        "configfs-tsm",
        `cannot create a report entry under ${this.root} (${errorText(e)}); is configfs mounted ` +
          "and the kernel built with CONFIG_TSM_REPORTS, and is a TEE guest driver loaded?",
        { cause: e },
      );
    }
    try {
      return await this.#report(entry, inblob, privlevel);
    } finally {
      await this.#fs.rmdir(entry).catch(() => {});
    }
  }

  async #report(entry: string, inblob: Uint8Array, privlevel?: number): Promise<TsmReport> {
    let writes = 0;
    if (privlevel !== undefined) {
      const floor = await this.#readNumber(entry, "privlevel_floor", true);
      if (floor !== undefined && privlevel < floor) {
        throw new ValidationError("privlevel", "below the provider's privlevel_floor", {
          expected: `>= ${floor}`,
          actual: String(privlevel),
        });
      }
      await this.#write(entry, "privlevel", new TextEncoder().encode(`${privlevel}\n`));
      writes++;
    }
    await this.#write(entry, "inblob", inblob);
    writes++;
    const generation = await this.#settledGeneration(entry, writes);
    const outblob = await this.#read(entry, "outblob");
    if (outblob.length === 0) {
      throw new UnavailableError("outblob", "the provider returned nothing");
    }
    const auxblob = await this.#readOptional(entry, "auxblob");
    const provider = new TextDecoder().decode(await this.#read(entry, "provider")).trim();
    const after = await this.#readNumber(entry, "generation", false);
    if (after !== generation) {
      throw new UnavailableError(
        "generation",
        `changed from ${generation} to ${after} while reading: another writer raced on ${entry}`,
      );
    }
    return {
      outblob,
      auxblob: auxblob && auxblob.length > 0 ? auxblob : undefined,
      provider,
      generation,
    };
  }

  /** Waits until `generation` reaches `writes`; more than that means another writer. */
  async #settledGeneration(entry: string, writes: number): Promise<number> {
    const deadline = Date.now() + this.#settleTimeoutMs;
    for (let delay = 1;; delay = Math.min(delay * 2, 50)) {
      const generation = await this.#readNumber(entry, "generation", true);
      if (generation !== undefined && generation > writes) {
        throw new UnavailableError(
          "generation",
          `is ${generation} after ${writes} write(s): another writer raced on ${entry}`,
        );
      }
      if (generation === writes) return generation;
      if (Date.now() > deadline) {
        throw new UnavailableError(
          "generation",
          `still ${
            generation ?? "absent"
          } after ${writes} write(s) and ${this.#settleTimeoutMs} ms`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  async #write(entry: string, attribute: string, data: Uint8Array): Promise<void> {
    try {
      await this.#fs.writeFile(`${entry}/${attribute}`, data);
    } catch (e) {
      throw new UnavailableError(attribute, `cannot write ${entry}/${attribute}: ${errorText(e)}`, {
        cause: e,
      });
    }
  }

  async #read(entry: string, attribute: string): Promise<Uint8Array> {
    try {
      return await this.#fs.readFile(`${entry}/${attribute}`);
    } catch (e) {
      if (e instanceof ContrastError) throw e;
      throw new UnavailableError(attribute, `cannot read ${entry}/${attribute}: ${errorText(e)}`, {
        cause: e,
      });
    }
  }

  async #readOptional(entry: string, attribute: string): Promise<Uint8Array | undefined> {
    try {
      return await this.#fs.readFile(`${entry}/${attribute}`);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined;
      throw new UnavailableError(attribute, `cannot read ${entry}/${attribute}: ${errorText(e)}`, {
        cause: e,
      });
    }
  }

  /** Reads a decimal attribute; with `optional`, a missing file gives undefined. */
  async #readNumber(
    entry: string,
    attribute: string,
    optional: boolean,
  ): Promise<number | undefined> {
    let bytes: Uint8Array;
    try {
      bytes = await this.#fs.readFile(`${entry}/${attribute}`);
    } catch (e) {
      if (optional && e instanceof Deno.errors.NotFound) return undefined;
      throw new UnavailableError(attribute, `cannot read ${entry}/${attribute}: ${errorText(e)}`, {
        cause: e,
      });
    }
    const text = new TextDecoder().decode(bytes).trim();
    if (text === "" && optional) return undefined;
    if (!/^\d+$/.test(text)) throw new ParseError(attribute, `not a decimal number: "${text}"`);
    return Number(text);
  }
}

/** configfs-tsm provider names and the platform whose evidence they produce. */
const TSM_PROVIDERS: Readonly<Record<string, TeePlatform>> = {
  sev_guest: "snp",
  tdx_guest: "tdx",
};

/**
 * The {@link Evidence} a configfs-tsm report carries: SNP (`sev_guest`) report with the auxblob
 * certificate table, or TDX (`tdx_guest`) quote.
 *
 * @throws {UnavailableError} naming `provider` when the provider is not one contrast verifies
 *
 * @example Turn a configfs-tsm report into evidence
 * ```ts
 * import { evidenceFromTsmReport } from "./mod.ts";
 *
 * const evidence = evidenceFromTsmReport({
 *   provider: "sev_guest",
 *   outblob: new Uint8Array(1184),
 *   generation: 1,
 * });
 * console.log(evidence.platform); // "snp"
 * ```
 */
export function evidenceFromTsmReport(report: TsmReport): Evidence {
  const platform = TSM_PROVIDERS[report.provider];
  if (platform === undefined) {
    throw new UnavailableError(
      "provider",
      `configfs-tsm provider "${report.provider}" is not supported (sev_guest or tdx_guest)`,
    );
  }
  return report.auxblob && platform === "snp"
    ? { platform, report: report.outblob, aux: report.auxblob }
    : { platform, report: report.outblob };
}

function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}
