/**
 * A fast reader for the plain subset of YAML most Kubernetes files are written in: block
 * mappings and sequences, one-line flow collections, one-line plain, single- and double-quoted
 * scalars; no comments, blank lines, anchors, aliases, tags, directives, block scalars, escapes,
 * tabs or characters outside printable ASCII. It builds the very `Document`s the `yaml`
 * package's `parseAllDocuments` builds for that text (same node classes, values, ranges, source
 * text, styles, directives and options; plain scalars resolved through the same schema tags, so
 * they read as go-yaml v2 reads them: `go_yaml_schema.ts`), without the package's lexer, CST
 * parser and composer, which cost most of a `contrast generate` run's reading time.
 *
 * Whatever it is not sure of it does not read: {@link parsePlainDocuments} then answers
 * `undefined` and the caller parses with the package (the whole text, so offsets and stream
 * state are the package's own). `tests/util/yaml/plain_block_parser_test.ts` compares every
 * property of every node the two give on thousands of generated documents and on the test
 * inputs, and checks that what this reader refuses the package either reads differently or
 * reads with errors only where expected.
 *
 * @module
 */
import {
  Composer,
  Document,
  type DocumentOptions,
  isScalar,
  Pair,
  type ParseOptions,
  Scalar,
  type ScalarTag,
  type Schema,
  type SchemaOptions,
  YAMLMap,
  YAMLSeq,
} from "yaml";

/** Options as `parseAllDocuments` takes them (`YAML_OPTIONS`). */
type Options = ParseOptions & DocumentOptions & SchemaOptions;

/** Thrown inside the reader where the text leaves the subset; never escapes this module. */
class NotPlain extends Error {}

const NOT_PLAIN = new NotPlain();

/** The schema's string tag, which quoted scalars and unmatched plain scalars resolve through. */
const SCALAR_TAG = Symbol.for("yaml.scalar");

const NEWLINE = 0x0a;
const SPACE = 0x20;
const DASH = 0x2d;
const COLON = 0x3a;
const COMMA = 0x2c;
const DOUBLE_QUOTE = 0x22;
const SINGLE_QUOTE = 0x27;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const HASH = 0x23;

/**
 * Text outside the subset anywhere: anything but printable ASCII and `\n`, `<<`, blank lines,
 * trailing spaces, and a line starting with `...` and a space (a document end marker followed by
 * more on its line, which the reader would otherwise take for the start of a plain key `... x`).
 * (`#` is refused where it is not inside a quoted scalar.)
 */
const OUTSIDE_SUBSET = /[^\n\x20-\x7e]|<<|\n\n|^\n| \n| $|(?:^|\n)\.\.\. /;

/**
 * Characters a plain scalar of the subset may start with: letters, digits and `/ . _ ~ $ ( + =`
 * (never an indicator, a quote or a space). `-` is allowed when a letter or digit follows.
 */
function isPlainStart(code: number, next: number): boolean {
  if (isAlphanumeric(code)) return true;
  if (code === DASH) return isAlphanumeric(next);
  return code === 0x2f || code === 0x2e || code === 0x5f || code === 0x7e || code === 0x24 ||
    code === 0x28 || code === 0x2b || code === 0x3d;
}

function isAlphanumeric(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) ||
    (code >= 0x61 && code <= 0x7a);
}

/** Characters that end a plain scalar inside a flow collection (or leave the subset there). */
function isFlowPlainStop(code: number): boolean {
  return code === COMMA || code === OPEN_BRACKET || code === CLOSE_BRACKET ||
    code === OPEN_BRACE || code === CLOSE_BRACE || code === COLON || code === NEWLINE ||
    code === DOUBLE_QUOTE || code === SINGLE_QUOTE || code === HASH;
}

/** Whether `a` and `b` hold the same items in the same order. */
function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Longest implicit key the package reads without a strict-mode error (1024), with margin. */
const MAX_KEY_LENGTH = 1000;

/** Reads one text; see the module documentation. */
class PlainBlockReader {
  readonly #text: string;
  readonly #options: Options;
  /** The schema of the document being read, and its tags as composing uses them. */
  #schema!: Schema;
  #plainTags: readonly ScalarTag[] = [];
  #keyTags: readonly ScalarTag[] = [];
  #stringTag!: ScalarTag;
  /** The tag of each plain value and key text read so far (see {@link #useSchema}). */
  readonly #tagOfPlain = new Map<string, ScalarTag>();
  readonly #tagOfPlainKey = new Map<string, ScalarTag>();
  #failed = false;
  readonly #onError = () => {
    this.#failed = true;
  };

  constructor(text: string, options: Options) {
    this.#text = text;
    this.#options = options;
  }

  /** Reads the next nodes for a document with `schema`. */
  #useSchema(schema: Schema): void {
    if (schema.compat) throw NOT_PLAIN;
    this.#schema = schema;
    const scalarTags = schema.tags.filter((t): t is ScalarTag => !("collection" in t));
    const plainTags = scalarTags.filter((t) => t.default === true);
    const keyTags = scalarTags.filter((t) => t.default === true || t.default === "key");
    const stringTag = (schema as unknown as Record<symbol, ScalarTag>)[SCALAR_TAG]!;
    // Each document has its own schema, mostly with the same tag objects: the tags found for
    // plain scalars so far stay valid while the lists hold the same tags.
    if (
      stringTag !== this.#stringTag || !sameItems(plainTags, this.#plainTags) ||
      !sameItems(keyTags, this.#keyTags)
    ) {
      this.#tagOfPlain.clear();
      this.#tagOfPlainKey.clear();
    }
    this.#plainTags = plainTags;
    this.#keyTags = keyTags;
    this.#stringTag = stringTag;
  }

  /** The tag the package resolves plain scalar `source` through (as a key with `atKey`). */
  #plainTag(source: string, atKey: boolean): ScalarTag {
    const found = atKey ? this.#tagOfPlainKey : this.#tagOfPlain;
    let tag = found.get(source);
    if (tag === undefined) {
      tag = this.#stringTag;
      for (const candidate of atKey ? this.#keyTags : this.#plainTags) {
        if (candidate.test?.test(source)) {
          tag = candidate;
          break;
        }
      }
      found.set(source, tag);
    }
    return tag;
  }

  /** The column of the first non-space character of the line starting at `lineStart`. */
  #indentAt(lineStart: number): number {
    let at = lineStart;
    while (this.#text.charCodeAt(at) === SPACE) at++;
    return at - lineStart;
  }

  /** Offset after the `\n` ending the line that holds `at` (or the text's end). */
  #nextLineStart(at: number): number {
    const end = this.#text.indexOf("\n", at);
    return end < 0 ? this.#text.length : end + 1;
  }

  /** A scalar node as the package composes it. */
  #scalar(
    source: string,
    type: Scalar.Type,
    start: number,
    end: number,
    nodeEnd: number,
    atKey: boolean,
  ): Scalar {
    const tag = type === Scalar.PLAIN ? this.#plainTag(source, atKey) : this.#stringTag;
    const value = tag.resolve(source, this.#onError, this.#options);
    const scalar = isScalar(value) ? value as Scalar : new Scalar(value);
    scalar.range = [start, end, nodeEnd];
    scalar.source = source;
    scalar.type = type;
    if (tag.format) scalar.format = tag.format;
    return scalar;
  }

  /**
   * The end of a one-line value ending at `end`: after its `\n`, checking that the next line is
   * not a continuation of it (more indented than `parentIndent`).
   */
  #afterLineValue(end: number, parentIndent: number): number {
    const text = this.#text;
    if (end === text.length) return end;
    if (text.charCodeAt(end) !== NEWLINE) throw NOT_PLAIN;
    const next = end + 1;
    if (next < text.length && !this.#isDocumentMarker(next)) {
      if (this.#indentAt(next) > parentIndent) throw NOT_PLAIN;
    }
    return next;
  }

  #isDocumentMarker(lineStart: number): boolean {
    return this.#text.startsWith("---", lineStart) &&
      (lineStart + 3 === this.#text.length || this.#text.charCodeAt(lineStart + 3) === NEWLINE);
  }

  /** A double- or single-quoted scalar starting at `start`, on one line, without escapes. */
  #quoted(start: number): { source: string; type: Scalar.Type; end: number } {
    const text = this.#text;
    const quote = text.charCodeAt(start);
    let at = start + 1;
    for (;; at++) {
      const c = text.charCodeAt(at);
      if (c === quote) break;
      if (c === NEWLINE || c === 0x5c || Number.isNaN(c)) throw NOT_PLAIN;
    }
    return {
      source: text.slice(start + 1, at),
      type: quote === DOUBLE_QUOTE ? Scalar.QUOTE_DOUBLE : Scalar.QUOTE_SINGLE,
      end: at + 1,
    };
  }

  /**
   * A block-context plain scalar from `start` to the end of its line (no `: `, no trailing `:`,
   * no flow indicator).
   */
  #blockPlainEnd(start: number): number {
    const text = this.#text;
    if (!isPlainStart(text.charCodeAt(start), text.charCodeAt(start + 1))) throw NOT_PLAIN;
    let at = start;
    for (; at < text.length; at++) {
      const c = text.charCodeAt(at);
      if (c === NEWLINE) break;
      if (c === COLON) {
        const next = text.charCodeAt(at + 1);
        if (next === SPACE || next === NEWLINE || Number.isNaN(next)) throw NOT_PLAIN;
      } else if (
        c === OPEN_BRACE || c === CLOSE_BRACE || c === OPEN_BRACKET || c === CLOSE_BRACKET ||
        c === COMMA || c === HASH
      ) throw NOT_PLAIN;
    }
    return at;
  }

  /**
   * A value on the rest of the line from `start` (a flow collection, a quoted or a plain
   * scalar), as the value of a block mapping or an item of a block sequence.
   */
  #lineValue(start: number, parentIndent: number): Scalar | YAMLMap | YAMLSeq {
    const c = this.#text.charCodeAt(start);
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      const node = this.#flowCollection(start);
      node.range![2] = this.#afterLineValue(node.range![1], parentIndent);
      return node;
    }
    if (c === DOUBLE_QUOTE || c === SINGLE_QUOTE) {
      const { source, type, end } = this.#quoted(start);
      return this.#scalar(source, type, start, end, this.#afterLineValue(end, parentIndent), false);
    }
    const end = this.#blockPlainEnd(start);
    return this.#scalar(
      this.#text.slice(start, end),
      Scalar.PLAIN,
      start,
      end,
      this.#afterLineValue(end, parentIndent),
      false,
    );
  }

  /** A one-line flow collection starting at `start` (`[` or `{`). */
  #flowCollection(start: number): YAMLMap | YAMLSeq {
    const text = this.#text;
    const isMap = text.charCodeAt(start) === OPEN_BRACE;
    const close = isMap ? CLOSE_BRACE : CLOSE_BRACKET;
    const node = isMap ? new YAMLMap(this.#schema) : new YAMLSeq(this.#schema);
    node.flow = true;
    const keys = isMap ? new Set<unknown>() : undefined;
    let at = this.#skipSpaces(start + 1);
    if (text.charCodeAt(at) === close) {
      node.range = [start, at + 1, at + 1];
      return node;
    }
    for (;;) {
      if (isMap) {
        const key = this.#flowPlain(at, true);
        if (keys!.has(key.value)) throw NOT_PLAIN;
        keys!.add(key.value);
        at = key.range![1];
        if (text.charCodeAt(at) !== COLON || text.charCodeAt(at + 1) !== SPACE) throw NOT_PLAIN;
        at = this.#skipSpaces(at + 1);
        const value = this.#flowItem(at);
        (node as YAMLMap).items.push(new Pair(key, value));
        at = value.range![1];
      } else {
        const item = this.#flowItem(at);
        (node as YAMLSeq).items.push(item);
        at = item.range![1];
      }
      at = this.#skipSpaces(at);
      const c = text.charCodeAt(at);
      if (c === close) break;
      if (c !== COMMA) throw NOT_PLAIN;
      at = this.#skipSpaces(at + 1);
      if (text.charCodeAt(at) === close) throw NOT_PLAIN;
    }
    node.range = [start, at + 1, at + 1];
    return node;
  }

  #skipSpaces(at: number): number {
    while (this.#text.charCodeAt(at) === SPACE) at++;
    return at;
  }

  /** An item or value inside a flow collection. */
  #flowItem(start: number): Scalar | YAMLMap | YAMLSeq {
    const c = this.#text.charCodeAt(start);
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      const node = this.#flowCollection(start);
      node.range![2] = this.#skipSpaces(node.range![1]);
      return node;
    }
    if (c === DOUBLE_QUOTE || c === SINGLE_QUOTE) {
      const { source, type, end } = this.#quoted(start);
      const after = this.#skipSpaces(end);
      // `["a": b]` is a one-pair map to the package: not in the subset.
      if (this.#text.charCodeAt(after) === COLON) throw NOT_PLAIN;
      return this.#scalar(source, type, start, end, after, false);
    }
    const item = this.#flowPlain(start, false);
    if (this.#text.charCodeAt(this.#skipSpaces(item.range![1])) === COLON) throw NOT_PLAIN;
    return item;
  }

  /** A plain scalar inside a flow collection (no `:`, `,`, brackets, braces or quotes). */
  #flowPlain(start: number, atKey: boolean): Scalar {
    const text = this.#text;
    if (!isPlainStart(text.charCodeAt(start), text.charCodeAt(start + 1))) throw NOT_PLAIN;
    let at = start;
    while (at < text.length && !isFlowPlainStop(text.charCodeAt(at))) at++;
    let end = at;
    while (text.charCodeAt(end - 1) === SPACE) end--;
    // The node ends after the spaces that follow it, as the package's ranges do.
    return this.#scalar(text.slice(start, end), Scalar.PLAIN, start, end, at, atKey);
  }

  /**
   * A block node starting on the line at `lineStart` with its first character at column
   * `indent`: a sequence when it starts with `- `, else a mapping.
   */
  #blockNode(lineStart: number, indent: number, end: number): YAMLMap | YAMLSeq {
    return this.#text.charCodeAt(lineStart + indent) === DASH
      ? this.#blockSeq(lineStart, indent, end)
      : this.#blockMap(lineStart, indent, lineStart + indent, end);
  }

  /**
   * A block mapping whose keys are at column `indent`, the first starting at `firstKey` (on the
   * line at `lineStart`, or after `- ` of a sequence item), up to offset `end` at most.
   */
  #blockMap(lineStart: number, indent: number, firstKey: number, end: number): YAMLMap {
    const text = this.#text;
    const map = new YAMLMap(this.#schema);
    const keys = new Set<unknown>();
    let keyStart = firstKey;
    let offset = firstKey;
    for (;;) {
      const keyEnd = this.#keyEnd(keyStart);
      const key = this.#scalar(
        text.slice(keyStart, keyEnd),
        Scalar.PLAIN,
        keyStart,
        keyEnd,
        keyEnd,
        true,
      );
      if (keys.has(key.value)) throw NOT_PLAIN;
      keys.add(key.value);
      let value: Scalar | YAMLMap | YAMLSeq;
      if (text.charCodeAt(keyEnd + 1) === SPACE) {
        value = this.#lineValue(this.#skipSpaces(keyEnd + 1), indent);
      } else {
        // `key:` and a block node on the next lines.
        const next = keyEnd + 2;
        if (next >= end || this.#isDocumentMarker(next)) throw NOT_PLAIN;
        const childIndent = this.#indentAt(next);
        const startsSeq = text.charCodeAt(next + childIndent) === DASH;
        if (childIndent < indent || (childIndent === indent && !startsSeq)) throw NOT_PLAIN;
        value = this.#blockNode(next, childIndent, end);
      }
      map.items.push(new Pair(key, value));
      offset = value.range![2];
      lineStart = offset;
      if (lineStart >= end || this.#isDocumentMarker(lineStart)) break;
      const nextIndent = this.#indentAt(lineStart);
      if (nextIndent < indent) break;
      if (nextIndent > indent) throw NOT_PLAIN;
      if (text.charCodeAt(lineStart + nextIndent) === DASH) {
        // A sequence item at a key's column ends the mapping only where it belongs to a parent
        // sequence; any other is not in the subset.
        break;
      }
      keyStart = lineStart + indent;
    }
    map.range = [firstKey, offset, offset];
    return map;
  }

  /** The end of the plain implicit key starting at `start` (at its `:` followed by a space or `\n`). */
  #keyEnd(start: number): number {
    const text = this.#text;
    if (!isPlainStart(text.charCodeAt(start), text.charCodeAt(start + 1))) throw NOT_PLAIN;
    for (let at = start; at < start + MAX_KEY_LENGTH; at++) {
      const c = text.charCodeAt(at);
      if (c === COLON) {
        const next = text.charCodeAt(at + 1);
        if (next === SPACE || next === NEWLINE) {
          if (text.charCodeAt(at - 1) === SPACE) throw NOT_PLAIN;
          return at;
        }
      } else if (
        c === NEWLINE || Number.isNaN(c) || c === OPEN_BRACE || c === CLOSE_BRACE ||
        c === OPEN_BRACKET || c === CLOSE_BRACKET || c === COMMA || c === DOUBLE_QUOTE ||
        c === SINGLE_QUOTE || c === HASH
      ) {
        throw NOT_PLAIN;
      }
    }
    throw NOT_PLAIN;
  }

  /** A block sequence whose `- ` are at column `indent`, the first on the line at `lineStart`. */
  #blockSeq(lineStart: number, indent: number, end: number): YAMLSeq {
    const text = this.#text;
    const seq = new YAMLSeq(this.#schema);
    const first = lineStart + indent;
    let offset = first;
    for (;;) {
      const dash = lineStart + indent;
      if (text.charCodeAt(dash + 1) !== SPACE) throw NOT_PLAIN;
      const itemStart = dash + 2;
      const c = text.charCodeAt(itemStart);
      let item: Scalar | YAMLMap | YAMLSeq;
      if (c === SPACE || c === DASH && text.charCodeAt(itemStart + 1) === SPACE) throw NOT_PLAIN;
      if (this.#isCompactMap(itemStart)) {
        item = this.#blockMap(lineStart, indent + 2, itemStart, end);
      } else {
        item = this.#lineValue(itemStart, indent);
      }
      seq.items.push(item);
      offset = item.range![2];
      lineStart = offset;
      if (lineStart >= end || this.#isDocumentMarker(lineStart)) break;
      const nextIndent = this.#indentAt(lineStart);
      if (nextIndent < indent) break;
      if (nextIndent > indent || text.charCodeAt(lineStart + nextIndent) !== DASH) {
        // A key at the column of an unindented sequence's dashes ends it; the caller checks.
        if (nextIndent === indent) break;
        throw NOT_PLAIN;
      }
    }
    seq.range = [first, offset, offset];
    return seq;
  }

  /** Whether the sequence item starting at `start` is a compact mapping (`- key: value`). */
  #isCompactMap(start: number): boolean {
    const text = this.#text;
    const c = text.charCodeAt(start);
    if (c === OPEN_BRACE || c === OPEN_BRACKET || c === DOUBLE_QUOTE || c === SINGLE_QUOTE) {
      return false;
    }
    const lineEnd = this.#nextLineStart(start);
    for (let at = start; at < lineEnd; at++) {
      if (text.charCodeAt(at) === COLON) {
        const next = text.charCodeAt(at + 1);
        if (next === SPACE || next === NEWLINE || Number.isNaN(next)) return true;
      }
    }
    return false;
  }

  /** Every document of the text, or undefined where it leaves the subset. */
  documents(composer: Composer): Document.Parsed[] | undefined {
    const text = this.#text;
    // The composer's stream directives, which every document it composes starts from.
    const directives = composer.streamInfo().directives;
    const docs: Document.Parsed[] = [];
    let at = 0;
    try {
      while (at < text.length) {
        const docStart = at;
        const marker = this.#isDocumentMarker(at);
        if (marker) at += 4;
        if (at >= text.length || this.#isDocumentMarker(at)) throw NOT_PLAIN;
        if (this.#indentAt(at) !== 0) throw NOT_PLAIN;
        const doc = new Document(
          undefined,
          Object.assign({ _directives: directives }, this.#options),
        ) as Document.Parsed;
        if (marker) doc.directives.docStart = true;
        this.#useSchema(doc.schema);
        const contents = this.#blockNode(at, 0, text.length);
        const end = contents.range![2];
        if (end < text.length && !this.#isDocumentMarker(end)) throw NOT_PLAIN;
        doc.contents = contents as Document.Parsed["contents"];
        doc.range = [docStart, end, end];
        docs.push(doc);
        at = end;
      }
    } catch (error) {
      if (error instanceof NotPlain) return undefined;
      throw error;
    }
    return this.#failed || docs.length === 0 ? undefined : docs;
  }
}

/**
 * The documents of `text` exactly as `parseAllDocuments(text, options)` reads them, when the
 * text is in the plain subset (see the module documentation); undefined otherwise.
 */
export function parsePlainDocuments(
  text: string,
  options: Options,
): Document.Parsed[] | undefined {
  if (OUTSIDE_SUBSET.test(text)) return undefined;
  return new PlainBlockReader(text, options).documents(new Composer(options));
}
