/**
 * Reading Kubernetes YAML for `contrast generate`: files, directories (`*.yml`/`*.yaml`, sorted)
 * or `-` for stdin, parsed with the `yaml` package's document API in YAML 1.1 mode so comments,
 * key order, quoting and anchors survive a round trip.
 *
 * @module
 */
import { type Document, parseAllDocuments } from "yaml";
import { InvalidDocumentError, ParseError } from "../util/errors/mod.ts";
import { expandYamlPaths, readInputFile } from "../util/files/mod.ts";
import { plainYamlValue } from "../util/yaml/plain_value.ts";
import { kubectlDisagreements } from "../util/yaml/kubectl_agreement.ts";
import { goYamlTags } from "../util/yaml/go_yaml_schema.ts";
import { parsePlainDocuments } from "../util/yaml/plain_block_parser.ts";
import { separatorBoms } from "../util/yaml/separator_boms.ts";

/** One input file and its YAML documents. */
export interface InputFile {
  /** Path as given (or found in a directory); `-` for stdin. */
  readonly path: string;
  /**
   * The text the documents were parsed from: the file's text without the byte order marks
   * kubectl drops after a `---` separator (`util/yaml/separator_boms.ts`).
   */
  readonly text: string;
  /** The file's own text, when it differs from `text` (written back for an unchanged file). */
  readonly original?: string;
  /** The parsed documents (empty documents included, so indexes match the file). */
  readonly docs: Document.Parsed[];
  /**
   * True for a `*.json` file found in a directory given on the command line: kubectl applies it
   * from there, but generate writes YAML, so it may hold no workload generate would change.
   */
  readonly jsonInDirectory?: boolean;
}

/**
 * Parse options shared by reading and tests: YAML 1.1 as Kubernetes uses it, with the schema
 * adjusted to read and print scalars as go-yaml v2 (kubectl) does (`util/yaml/go_yaml_schema.ts`).
 */
export const YAML_OPTIONS = {
  version: "1.1",
  keepSourceTokens: false,
  customTags: goYamlTags,
} as const;

/**
 * Serialisation options: no line folding, so long strings stay as written. (`lineWidth: 0` turns
 * folding off; the `yaml` package's `!!binary` printer divides by
 * `max(lineWidth - indent, minContentWidth)`, so a zero `minContentWidth` made it throw
 * `Invalid array length`; an unbounded one prints a binary value on one line.)
 */
const YAML_STRINGIFY_OPTIONS = { lineWidth: 0, minContentWidth: Number.MAX_SAFE_INTEGER } as const;

/**
 * Serialisation options that follow the file's own style where the `yaml` package lets us:
 * block sequences indented under their key or not, and `{ a: b }` versus `{a: b}` flow padding.
 */
export function stringifyOptionsFor(text: string): {
  lineWidth: number;
  minContentWidth: number;
  indentSeq: boolean;
  flowCollectionPadding: boolean;
} {
  const unindented = /^( *)[^\s#-][^\n]*:[ \t]*\n\1- /m.test(text);
  const indented = /^( *)[^\s#-][^\n]*:[ \t]*\n\1  +- /m.test(text);
  const unquoted = text.replace(/(["'])(?:(?!\1).)*\1/g, "");
  const tight = /[{[][^\s}\]]/.test(unquoted);
  const padded = /[{[] [^\s]/.test(unquoted);
  return {
    ...YAML_STRINGIFY_OPTIONS,
    indentSeq: !(unindented && !indented),
    flowCollectionPadding: !(tight && !padded),
  };
}

/**
 * Whether turning `doc` into plain values could fail or blow up: only through an alias (`*`), a
 * merge key (`<<`) or a tag (`!`, e.g. `!!omap` with a repeated key), so a document whose text
 * has none of these characters is a tree of plain values and needs no check (in a 1,000-pod
 * `generate` run the check cost ~2% of the time); one with them, even inside a string, is
 * checked.
 */
function mayNotBePlainTree(text: string, doc: Document.Parsed): boolean {
  const source = text.slice(doc.range[0], doc.range[2]);
  return source.includes("*") || source.includes("<<") || source.includes("!");
}

/**
 * Parses `text` into documents.
 *
 * @throws {InvalidDocumentError} naming `path`, the document index and line for each YAML error
 */
export function parseYamlFile(path: string, fileText: string): InputFile {
  // A BOM right after a `---` line is dropped, as kubectl drops it; any other at a line start
  // is refused (kubectl reads it as text).
  const boms = separatorBoms(path, fileText);
  const text = boms.text;
  // The plain subset most files are written in is read without the package's lexer, parser and
  // composer (the same documents: `util/yaml/plain_block_parser.ts`); anything else by them.
  const parsed = parsePlainDocuments(text, YAML_OPTIONS) ?? parseAllDocuments(text, YAML_OPTIONS);
  const docs = Array.isArray(parsed) ? parsed : [];
  const issues: { path: string; reason: string }[] = [...boms.issues];
  if (!Array.isArray(parsed)) {
    issues.push({ path: `${path}`, reason: "not a YAML stream" });
  }
  docs.forEach((doc, i) => {
    if (doc.errors.length === 0 && mayNotBePlainTree(text, doc)) {
      try {
        plainYamlValue(doc, `${path}[${i}]`);
      } catch (error) {
        if (!(error instanceof ParseError)) throw error;
        issues.push({ path: error.field, reason: error.reason });
      }
    }
    for (const error of doc.errors) {
      const line = error.linePos?.[0];
      issues.push({
        path: line ? `${path}:${line.line}:${line.col}` : `${path}[${i}]`,
        reason: error.message.split("\n")[0]!,
      });
    }
  });
  issues.push(...kubectlDisagreements(path, text, docs));
  if (issues.length > 0) throw new InvalidDocumentError(issues);
  return { path, text, docs, ...(boms.removed > 0 ? { original: fileText } : {}) };
}

/**
 * Whether a JSON file found in a directory holds a Kubernetes object (a `kind`), which kubectl
 * would apply; other JSON there (a workspace's `manifest.json`, a settings file) is not input.
 */
function isKubernetesJson(text: string): boolean {
  try {
    const value = JSON.parse(text);
    return typeof value === "object" && value !== null && typeof value.kind === "string";
  } catch {
    return false;
  }
}

/**
 * Expands `paths` (files, directories, `-`) into input files, in a stable order: a directory's
 * `*.yml`, `*.yaml` and `*.json` files (kubectl applies all three from a directory; a JSON file
 * there that is not a Kubernetes object, such as a workspace's `manifest.json`, is skipped).
 *
 * @throws {ParseError} when a path does not exist
 * @throws {InvalidDocumentError} when a file is not valid YAML
 */
export async function readInputs(
  paths: readonly string[],
  readStdin: () => Promise<string> = () => new Response(Deno.stdin.readable).text(),
): Promise<InputFile[]> {
  const files: InputFile[] = [];
  const named = new Set(paths);
  // Directories are read as kubectl reads them: their JSON files too (JSON is YAML).
  for (const file of await expandYamlPaths(paths, { json: true })) {
    if (file === "-") {
      files.push(parseYamlFile("-", await readStdin()));
      continue;
    }
    const text = new TextDecoder().decode(await readInputFile(file));
    const jsonInDirectory = file.endsWith(".json") && !named.has(file);
    if (!jsonInDirectory) files.push(parseYamlFile(file, text));
    else if (isKubernetesJson(text)) files.push({ ...parseYamlFile(file, text), jsonInDirectory });
  }
  return files;
}
