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
import { printPlainDocument } from "./plain_document_printer.ts";
import { refuseGoYamlBreaks } from "../util/yaml/kubectl_agreement.ts";

/** The initdata annotation of one changed document. */
export interface InitdataAnnotation {
  /** The pod-template annotations map holding it. */
  readonly annotations: YAMLMap;
  /** Its value (base64 of the gzip-compressed initdata). */
  readonly value: string;
}

/** One rendered file (`changed` false: `text` is the original). */
interface RenderedFile {
  readonly path: string;
  readonly text: string;
  readonly changed: boolean;
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
  return file.docs.map((d: Document, i) => {
    const s = printDocument(d, style);
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
function printDocument(doc: Document, style: ReturnType<typeof stringifyOptionsFor>): string {
  const directives = doc.directives;
  const handles = directives ? Object.entries(directives.tags) : [];
  const printsNoDirective = directives !== undefined && !directives.yaml.explicit &&
    handles.length === 1 && handles[0]![0] === "!!" && handles[0]![1] === YAML_CORE_TAG_PREFIX;
  const plain = printPlainDocument(doc, style, printsNoDirective);
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
 * Prints `file` with each of `annotations` as a placeholder, then puts the values in; undefined
 * when the printed text holds the placeholder pattern other than where the annotations are.
 */
function printWithPlaceholders(
  file: InputFile,
  annotations: readonly InitdataAnnotation[],
): string | undefined {
  annotations.forEach((a, i) => a.annotations.set(INITDATA_ANNOTATION, placeholder(i)));
  let text: string;
  try {
    text = printDocuments(file);
  } finally {
    for (const a of annotations) a.annotations.set(INITDATA_ANNOTATION, a.value);
  }
  const found = [...text.matchAll(PLACEHOLDER)].map((m) => Number(m[1]));
  // Exactly the placeholders put in, each once, in document order: anything else (a user's
  // string with the pattern while a real one went missing) prints directly instead.
  if (found.length !== annotations.length || found.some((n, i) => n !== i)) return undefined;
  return text.replace(PLACEHOLDER, (_, i: string) => annotations[Number(i)]!.value);
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
      return { path: file.path, text: file.text, changed: false };
    }
    const own = keys.map((k) => annotations.get(k)).filter((a) => a !== undefined);
    const text = (own.length > 0 ? printWithPlaceholders(file, own) : undefined) ??
      printDocuments(file);
    refuseGoYamlBreaks(file.path, text);
    return { path: file.path, text, changed: text !== file.text };
  });
}
