/**
 * Rollback protection for revocation data: the newest CRL (and Intel TCB info / QE identity) a
 * verifier has accepted, per issuer and document, so an older genuine one — still inside its
 * validity window, but issued before a revocation or a TCB recovery — is refused instead of
 * accepted again. Whoever sits between the verifier and the vendor (the host, a caching proxy, a
 * stale bundle or cache directory) can replay such a document; its signature is genuine, only its
 * age gives it away.
 *
 * A mark is a number that grows with every issue (a CRL's `cRLNumber`, a TCB info's
 * `tcbEvaluationDataNumber`; absent when the document has none) and the issue time (`thisUpdate`,
 * `issueDate`). A candidate is refused when its number is below the accepted one, or when its
 * issue time is before the accepted one (so a CRL without a number, or an issuer that never
 * increments it, as Intel's CRLs carry `cRLNumber` 1, is still ordered by time). The same document
 * served again is equal and accepted. An accepted candidate raises the mark; the mark never goes
 * down.
 *
 * The marks live in memory for the lifetime of the object and, when a file is named, are
 * persisted there (written atomically after every raise, merged with what the file holds), so a
 * restart reading an older cache is refused too; marks of documents under a simulated authority's
 * root stay in memory unless asked otherwise. A file that cannot be read or parsed is a
 * {@link RevocationMarksFileError} for every check until it is repaired or removed and the process
 * restarted: never a silent reset. Limitation: whoever can write the directory can delete the
 * file, and a verifier starting without it accepts any genuine document inside its window again
 * (as before this protection) until it sees a newer one. Marks must be raised only with documents
 * whose signature verified: a forged mark from the future would refuse every genuine document.
 *
 * @module
 */
import { VerificationError } from "../util/errors/mod.ts";
import { writeFileAtomic } from "../util/files/atomic_write.ts";
import { readLimitedFile } from "./read_limited.ts";

/**
 * The age of one revocation document.
 *
 * @example The mark of a CRL
 * ```ts
 * import type { RevocationMark } from "./mod.ts";
 * import type { Crl } from "../x509/mod.ts";
 *
 * function markOf(crl: Crl): RevocationMark {
 *   return { number: crl.crlNumber, issued: crl.thisUpdate };
 * }
 * ```
 */
export interface RevocationMark {
  /** What grows with every issue (`cRLNumber`, `tcbEvaluationDataNumber`); absent when none. */
  readonly number?: bigint;
  /** When it was issued (`thisUpdate`, `issueDate`). */
  readonly issued: Date;
}

/**
 * One document to check against its mark.
 *
 * @example A CRL of AMD's ARK for Milan
 * ```ts
 * import type { RevocationCandidate } from "./mod.ts";
 *
 * const candidate: RevocationCandidate = {
 *   key: "amd-crl Milan VCEK",
 *   field: "https://kdsintf.amd.com/vcek/v1/Milan/crl",
 *   names: { number: "crlNumber", issued: "thisUpdate" },
 *   mark: { number: 42n, issued: new Date("2026-12-01T00:00:00Z") },
 * };
 * ```
 */
export interface RevocationCandidate {
  /** Which issuer and document the mark is for (never a value the document itself chooses alone). */
  readonly key: string;
  /** The field errors name (a URL, `pckCrl`, `tcbInfo`). */
  readonly field: string;
  /** How the document calls its number and issue time, for errors. */
  readonly names: { readonly number: string; readonly issued: string };
  /** The candidate's age. */
  readonly mark: RevocationMark;
  /**
   * Whether it is signed under a simulated authority's root rather than a vendor's pinned one: its
   * mark is then kept in memory only, unless {@link RevocationMarksOptions.persistSimulated} (a
   * test run's fresh roots would otherwise pile up in the file).
   */
  readonly simulated?: boolean;
}

/**
 * Names of a CRL's mark fields, for {@link RevocationCandidate.names}.
 *
 * @example A rollback error names the CRL's field
 * ```ts
 * import { CRL_MARK_NAMES } from "./mod.ts";
 *
 * console.log(`crl.${CRL_MARK_NAMES.number}`); // "crl.crlNumber"
 * ```
 */
export const CRL_MARK_NAMES = { number: "crlNumber", issued: "thisUpdate" } as const;

/**
 * A document older than one accepted before for the same key: a rollback. The field names the
 * document and which of its values is older (`<url>.crlNumber`, `tcbInfo.issueDate`).
 *
 * @example Tell a rollback from other verification failures
 * ```ts
 * import { RevocationRollbackError } from "./mod.ts";
 *
 * function isRollback(e: unknown): boolean {
 *   return e instanceof RevocationRollbackError;
 * }
 * ```
 */
export class RevocationRollbackError extends VerificationError {}

/**
 * The marks file could not be read, or holds something other than marks. Every check fails with
 * it (fail closed) until the file is repaired or removed and the process restarted.
 *
 * @example Report a damaged marks file
 * ```ts
 * import { RevocationMarksFileError } from "./mod.ts";
 *
 * const e = new RevocationMarksFileError("/var/cache/contrast/revocation-marks.json", "not JSON");
 * console.log(e.field);
 * ```
 */
export class RevocationMarksFileError extends VerificationError {}

/**
 * The name of the marks file in a collateral cache directory.
 *
 * @example Marks kept with a collateral cache
 * ```ts
 * import { REVOCATION_MARKS_FILE, RevocationMarks } from "./mod.ts";
 *
 * const cacheDir = await Deno.makeTempDir();
 * const marks = new RevocationMarks({ file: `${cacheDir}/${REVOCATION_MARKS_FILE}` });
 * console.log(marks.file);
 * ```
 */
export const REVOCATION_MARKS_FILE = "revocation-marks.json";

/** Largest marks file read (a few hundred bytes per key). */
const MAX_FILE_BYTES = 1024 * 1024;

/** Most keys kept: a deployment has a handful of products, FMSPCs and issuers. */
const MAX_KEYS = 4096;

/**
 * Options of {@link RevocationMarks}.
 *
 * @example Marks persisted next to a collateral cache
 * ```ts
 * import { REVOCATION_MARKS_FILE, RevocationMarks, type RevocationMarksOptions } from "./mod.ts";
 *
 * const options: RevocationMarksOptions = { file: `/var/cache/contrast/${REVOCATION_MARKS_FILE}` };
 * const marks = new RevocationMarks(options);
 * ```
 */
export interface RevocationMarksOptions {
  /** Where the marks persist (read once, on first use); without it they live in memory only. */
  readonly file?: string;
  /**
   * Read `file` but never write it: documents are checked against the marks it holds, and what
   * is accepted raises the marks in memory only (a one-off check of a given collateral folder).
   */
  readonly readOnly?: boolean;
  /** Persist the marks of simulated authorities' documents too (default: memory only). */
  readonly persistSimulated?: boolean;
}

/**
 * The newest revocation data accepted, per key; see the module documentation.
 *
 * @example Refuse an older CRL of the same issuer
 * ```ts
 * import { CRL_MARK_NAMES, RevocationMarks } from "./mod.ts";
 *
 * const marks = new RevocationMarks();
 * const candidate = (n: bigint, day: number) => ({
 *   key: "amd-crl Milan VCEK",
 *   field: "crl",
 *   names: CRL_MARK_NAMES,
 *   mark: { number: n, issued: new Date(Date.UTC(2026, 11, day)) },
 * });
 * await marks.accept([candidate(5n, 2)]);
 * await marks.accept([candidate(4n, 1)]).catch((e) => console.log(e.message)); // refused
 * ```
 */
export class RevocationMarks {
  readonly #file?: string;
  readonly #readOnly: boolean;
  readonly #persistSimulated: boolean;
  /** Keys of marks kept in memory only (simulated roots). */
  readonly #memoryOnly = new Set<string>();
  readonly #marks = new Map<string, RevocationMark>();
  #loaded?: Promise<void>;
  #writing: Promise<void> = Promise.resolve();
  readonly #writeErrors: string[] = [];

  /** Marks kept in memory, and in `options.file` when named. */
  constructor(options: RevocationMarksOptions = {}) {
    this.#file = options.file;
    this.#readOnly = options.readOnly ?? false;
    this.#persistSimulated = options.persistSimulated ?? false;
  }

  /** The file the marks persist in, if any. */
  get file(): string | undefined {
    return this.#file;
  }

  /**
   * Persisting that failed (the file and reason); the marks were kept in memory all the same,
   * so this process still refuses older documents, a restart may not.
   */
  get writeErrors(): readonly string[] {
    return this.#writeErrors;
  }

  /** The mark accepted for `key`, if any (after the file was read). */
  async markOf(key: string): Promise<RevocationMark | undefined> {
    await this.#load();
    return this.#marks.get(key);
  }

  /**
   * Checks every candidate against its key's mark, then raises the marks of all of them (none
   * when one is refused) and persists them when one went up.
   *
   * @throws {RevocationRollbackError} naming the first candidate older than its mark
   * @throws {RevocationMarksFileError} when the marks file is unreadable or damaged
   */
  async accept(candidates: readonly RevocationCandidate[]): Promise<void> {
    await this.#load();
    this.#checkLoaded(candidates);
    let raised = false;
    for (const c of candidates) {
      const known = this.#marks.get(c.key);
      const next = known === undefined ? c.mark : newer(known, c.mark);
      if (next === known) continue;
      if (known === undefined && this.#marks.size >= MAX_KEYS) {
        const oldest = this.#marks.keys().next().value!;
        this.#marks.delete(oldest);
        this.#memoryOnly.delete(oldest);
      }
      this.#marks.set(c.key, next);
      if (c.simulated && !this.#persistSimulated) {
        this.#memoryOnly.add(c.key);
        continue;
      }
      raised = true;
    }
    if (raised && this.#file !== undefined && !this.#readOnly) {
      const write = this.#writing.then(() => this.#persist(this.#file!));
      this.#writing = write;
      await write;
    }
  }

  /**
   * Checks the candidates without raising anything (for a response about to be cached).
   *
   * @throws {RevocationRollbackError} naming the first candidate older than its mark
   * @throws {RevocationMarksFileError} when the marks file is unreadable or damaged
   */
  async check(candidates: readonly RevocationCandidate[]): Promise<void> {
    await this.#load();
    this.#checkLoaded(candidates);
  }

  #checkLoaded(candidates: readonly RevocationCandidate[]): void {
    for (const c of candidates) {
      const known = this.#marks.get(c.key);
      if (known !== undefined) refuseOlder(c, known);
    }
  }

  #load(): Promise<void> {
    this.#loaded ??= this.#file === undefined ? Promise.resolve() : this.#read(this.#file);
    return this.#loaded;
  }

  async #read(file: string): Promise<void> {
    const marks = await readMarksFile(file);
    for (const [key, mark] of marks) this.#marks.set(key, mark);
  }

  /** Writes the marks, each the newer of this process's and the file's (another process's). */
  async #persist(file: string): Promise<void> {
    try {
      let onDisk = new Map<string, RevocationMark>();
      try {
        onDisk = await readMarksFile(file);
      } catch {
        // Damaged since it was read: this process's marks (which include what it held) replace it.
      }
      const merged = new Map(
        [...this.#marks].filter(([key]) => !this.#memoryOnly.has(key)),
      );
      for (const [key, mark] of onDisk) {
        const mine = merged.get(key);
        merged.set(key, mine === undefined ? mark : newer(mine, mark));
      }
      const folder = file.slice(0, file.lastIndexOf("/"));
      if (folder) await Deno.mkdir(folder, { recursive: true });
      await writeFileAtomic(file, encodeMarks(merged), { mode: 0o600 });
    } catch (e) {
      if (this.#writeErrors.length < 100) {
        this.#writeErrors.push(`${file}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }
}

/**
 * The newer of two marks per component (the same object when `candidate` adds nothing), so a
 * mark never goes down.
 */
function newer(known: RevocationMark, candidate: RevocationMark): RevocationMark {
  const number = known.number === undefined
    ? candidate.number
    : candidate.number === undefined || candidate.number <= known.number
    ? known.number
    : candidate.number;
  const issued = candidate.issued > known.issued ? candidate.issued : known.issued;
  if (number === known.number && issued === known.issued) return known;
  return number === undefined ? { issued } : { number, issued };
}

function refuseOlder(c: RevocationCandidate, known: RevocationMark): void {
  const { mark } = c;
  if (mark.number !== undefined && known.number !== undefined && mark.number < known.number) {
    throw new RevocationRollbackError(
      `${c.field}.${c.names.number}`,
      `${mark.number} is older than the accepted ${known.number}: a replayed older document ` +
        `is refused`,
    );
  }
  if (mark.issued < known.issued) {
    throw new RevocationRollbackError(
      `${c.field}.${c.names.issued}`,
      `${mark.issued.toISOString()} is older than the accepted ${known.issued.toISOString()}: ` +
        `a replayed older document is refused`,
    );
  }
}

/** The marks file format, version 1. */
interface MarksFile {
  readonly version: 1;
  readonly marks: Record<string, { readonly number: string | null; readonly issued: string }>;
}

function encodeMarks(marks: ReadonlyMap<string, RevocationMark>): string {
  const out: MarksFile = {
    version: 1,
    marks: Object.fromEntries(
      [...marks].map((
        [key, m],
      ) => [key, { number: m.number?.toString() ?? null, issued: m.issued.toISOString() }]),
    ),
  };
  return JSON.stringify(out, null, 1) + "\n";
}

/**
 * The marks in `file` (none when it does not exist).
 *
 * @throws {RevocationMarksFileError} naming the file when it cannot be read or is not a marks file
 */
async function readMarksFile(file: string): Promise<Map<string, RevocationMark>> {
  const damaged = (reason: string) =>
    new RevocationMarksFileError(
      file,
      `${reason}; revocation data cannot be checked for rollback (repair or remove the file ` +
        `and restart, which forgets every accepted mark)`,
    );
  let read;
  try {
    read = await readLimitedFile(file, MAX_FILE_BYTES);
  } catch (e) {
    throw damaged(`cannot be read: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (read.kind === "missing") return new Map();
  if (read.kind === "directory") throw damaged("is a directory");
  if (read.kind === "refused") throw damaged(read.reason);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(read.bytes));
  } catch {
    throw damaged("is not JSON");
  }
  const doc = value as Partial<MarksFile> | null;
  if (typeof doc !== "object" || doc === null || Array.isArray(doc) || doc.version !== 1) {
    throw damaged("is not a version 1 marks file");
  }
  if (typeof doc.marks !== "object" || doc.marks === null || Array.isArray(doc.marks)) {
    throw damaged("has no marks object");
  }
  const marks = new Map<string, RevocationMark>();
  for (const [key, m] of Object.entries(doc.marks)) {
    const entry = m as { number?: unknown; issued?: unknown } | null;
    const issued = typeof entry?.issued === "string" ? new Date(entry.issued) : undefined;
    if (issued === undefined || Number.isNaN(issued.getTime())) {
      throw damaged(`marks["${key}"].issued is not a time`);
    }
    const n = entry!.number;
    if (n !== null && (typeof n !== "string" || !/^(0|[1-9][0-9]{0,48})$/.test(n))) {
      throw damaged(`marks["${key}"].number is not a non-negative integer`);
    }
    marks.set(key, n === null ? { issued } : { number: BigInt(n), issued });
  }
  return marks;
}
