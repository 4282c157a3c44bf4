/**
 * The last step of `contrast generate`: every input file's text, re-rendered in its own style
 * where a document changed.
 *
 * The initdata annotations (base64, tens of KB each) are printed as short placeholders and put
 * into the text afterwards: the `yaml` package runs several regular expressions and a tag test
 * over every scalar it prints, which for these values cost more than printing the rest of the
 * pod. The text is the one printing the values gives: base64 (and the placeholder) holds no
 * character that any scalar style quotes, escapes or folds (line folding is off), and neither
 * reads as another type, so every style prints the value exactly as it prints the placeholder.
 * A file whose text holds the placeholder pattern anyway is printed directly.
 *
 * @module
 */
import type { Document, YAMLMap } from "yaml";
import { INITDATA_ANNOTATION } from "../policy/initdata.ts";
import { type InputFile, stringifyOptionsFor } from "./documents.ts";
import { PlainStringCache, printPlainDocument } from "./plain_document_printer.ts";
import { refuseGoYamlBreaksInPieces } from "../util/yaml/kubectl_agreement.ts";

/** The initdata annotation of one changed document. */
export interface InitdataAnnotation {
  /** The pod-template annotations map holding it. */
  readonly annotations: YAMLMap;
  /** Its value (base64 of the gzip-compressed initdata). */
  readonly value: string;
  /**
   * The value in parts whose concatenation is {@link value} (e.g. the base64 text all pods share
   * and the pod's own), kept apart in the rendered pieces (default: the value as one part).
   */
  readonly valueParts?: readonly string[];
}

/**
 * One rendered file (`changed` false: the text is the original). The text is held as pieces
 * whose concatenation it is (the printed documents between the initdata values, and each value's
 * parts), so a large output is written piece by piece without being joined into one string
 * first; {@link text} joins them when read.
 */
export class RenderedFile {
  #text: string | undefined;

  constructor(
    readonly path: string,
    /** The text, in pieces (the same string object may appear many times). */
    readonly pieces: readonly string[],
    readonly changed: boolean,
  ) {}

  /** The whole text (joined from {@link pieces} when first read). */
  get text(): string {
    this.#text ??= this.pieces.length === 1 ? this.pieces[0]! : this.pieces.join("");
    return this.#text;
  }
}

const PLACEHOLDER = /contrast0initdata0placeholder0(\d+)0end/g;

function placeholder(index: number): string {
  return `contrast0initdata0placeholder0${index}0end`;
}

/** The key of a document in `changedDocs` and `annotations`: `path\0docIndex`. */
export function documentKey(path: string, docIndex: number): string {
  return `${path}\0${docIndex}`;
}

function printDocuments(file: InputFile): string {
  const style = stringifyOptionsFor(file.text);
  const cache = new PlainStringCache();
  return file.docs.map((d: Document, i) => {
    const s = printDocument(d, style, cache);
    return i > 0 && !s.startsWith("---") ? `---\n${s}` : s;
  }).join("");
}

const YAML_CORE_TAG_PREFIX = "tag:yaml.org,2002:";

/**
 * `doc.toString(style)`, without the walk over the whole document the `yaml` package makes to
 * find which `%TAG` directives to print: a document whose only tag handle is the default `!!`
 * (which is never printed) and that asks for no `%YAML` line prints no directive whatever tags
 * its nodes carry, so its directives print as "" without the walk (the same text; tests compare).
 */
function printDocument(
  doc: Document,
  style: ReturnType<typeof stringifyOptionsFor>,
  cache: PlainStringCache,
): string {
  const directives = doc.directives;
  const handles = directives ? Object.entries(directives.tags) : [];
  const printsNoDirective = directives !== undefined && !directives.yaml.explicit &&
    handles.length === 1 && handles[0]![0] === "!!" && handles[0]![1] === YAML_CORE_TAG_PREFIX;
  const plain = printPlainDocument(doc, style, printsNoDirective, cache);
  if (plain !== undefined) return plain;
  if (!printsNoDirective) return doc.toString(style);
  Object.defineProperty(directives, "toString", { value: () => "", configurable: true });
  try {
    return doc.toString(style);
  } finally {
    delete (directives as { toString?: unknown }).toString;
  }
}

/**
 * Prints `file` with each of `annotations` as a placeholder, then puts the values in: the text as
 * pieces (printed text, then each value's parts, and so on); undefined when the printed text
 * holds the placeholder pattern other than where the annotations are.
 */
function printWithPlaceholders(
  file: InputFile,
  annotations: readonly InitdataAnnotation[],
): string[] | undefined {
  annotations.forEach((a, i) => a.annotations.set(INITDATA_ANNOTATION, placeholder(i)));
  let text: string;
  try {
    text = printDocuments(file);
  } finally {
    for (const a of annotations) a.annotations.set(INITDATA_ANNOTATION, a.value);
  }
  const found = [...text.matchAll(PLACEHOLDER)];
  // Exactly the placeholders put in, each once, in document order: anything else (a user's
  // string with the pattern while a real one went missing) prints directly instead.
  if (
    found.length !== annotations.length || found.some((m, i) => Number(m[1]) !== i)
  ) return undefined;
  const pieces: string[] = [];
  let at = 0;
  found.forEach((m, i) => {
    pieces.push(text.slice(at, m.index));
    const a = annotations[i]!;
    pieces.push(...(a.valueParts ?? [a.value]));
    at = m.index + m[0].length;
  });
  pieces.push(text.slice(at));
  return pieces;
}

/** Whether the concatenation of `pieces` is `text` (without joining them). */
function piecesEqual(pieces: readonly string[], text: string): boolean {
  let length = 0;
  for (const piece of pieces) length += piece.length;
  if (length !== text.length) return false;
  let at = 0;
  for (const piece of pieces) {
    if (!text.startsWith(piece, at)) return false;
    at += piece.length;
  }
  return true;
}

/**
 * Every file's text: the original where no document changed, else every document printed in the
 * file's style, with the initdata annotations of `annotations` (by {@link documentKey}).
 */
export function renderFiles(
  files: readonly InputFile[],
  changedDocs: ReadonlySet<string>,
  annotations: ReadonlyMap<string, InitdataAnnotation>,
): RenderedFile[] {
  return files.map((file) => {
    const keys = file.docs.map((_, i) => documentKey(file.path, i));
    if (!keys.some((k) => changedDocs.has(k))) {
      return new RenderedFile(file.path, [file.original ?? file.text], false);
    }
    const own = keys.map((k) => annotations.get(k)).filter((a) => a !== undefined);
    const pieces = (own.length > 0 ? printWithPlaceholders(file, own) : undefined) ??
      [printDocuments(file)];
    refuseGoYamlBreaksInPieces(file.path, pieces);
    return new RenderedFile(file.path, pieces, !piecesEqual(pieces, file.text));
  });
}
