/**
 * A printer for the documents `contrast generate` edits, giving exactly the text the `yaml`
 * package's `doc.toString(options)` gives, for the documents made only of what that printer
 * handles here: block and flow maps and sequences, string keys, and string, integer and boolean
 * scalars on one line, with no comment, blank line, anchor, alias or tag anywhere. For any other
 * document it returns `undefined` and the caller prints with the package.
 *
 * Why not only the package: printing is ~15% of a 1,000-pod `generate` run. For every scalar
 * the package builds a context object, resolves the scalar's tag by filtering the whole schema,
 * runs several regular expressions and its line folder, and for every collection it copies the
 * context again; this printer makes the same decisions with the same tests (the schema's own tag
 * tests decide which plain strings must be quoted because a YAML 1.1 reader would read them as
 * another type) without that overhead. Measured on the benchmark's documents (~100 lines each
 * after injection, this machine, load ~6): see README, `contrast generate` benchmark.
 *
 * The rules below are those of `yaml` 2.9.1 (`stringify/stringifyString.js`, `stringifyPair.js`,
 * `stringifyCollection.js`) for the options generate prints with (`lineWidth: 0`, so nothing
 * folds; the indent step two spaces; `indentSeq` and `flowCollectionPadding` from the file's
 * style). `tests/deploy/plain_document_printer_test.ts` compares the two printers' text on the
 * example deployments and on generated documents full of strings a YAML 1.1 reader could take
 * for something else, and reads the text back in YAML 1.1 mode.
 *
 * @module
 */
import {
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  type Pair,
  Scalar,
  type YAMLMap,
  type YAMLSeq,
} from "yaml";

/** The `doc.toString` options generate prints with (see `documents.ts`). */
export interface PrintStyle {
  readonly lineWidth: number;
  readonly indentSeq: boolean;
  readonly flowCollectionPadding: boolean;
}

/** Thrown inside the printer when a node is outside what it handles. */
class Unsupported extends Error {}

const INDENT_STEP = "  ";

/** Characters that make the package print a string double-quoted whatever its style. */
// deno-lint-ignore no-control-regex
const NEEDS_ESCAPE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u{D800}-\u{DFFF}]/u;

/** Strings the package never prints plain (its `plainString` test, for one-line strings). */
const NOT_PLAIN =
  /^[\n\t ,[\]{}#&*!|>'"%@`]|^[?-]$|^[?-][ \t]|[\n:][ \t]|[ \t]\n|[\n\t ]#|[\n\t :]$/;

/** Strings the package prints as a block scalar or with special indentation at the root. */
const DOCUMENT_MARKER = /^(%|---|\.\.\.)/m;

const FLOW_INDICATOR = /[[\]{},]/;

const MERGE_KEY = "<<";

/**
 * The contexts a pair's scalar key and scalar value are printed in (see `Printer.pair`): a scalar
 * is printed on one line, so only `inFlow` of its context matters.
 */
const FLOW_KEY: Context = { indent: "", inFlow: true, implicitKey: true };
const BLOCK_KEY: Context = { indent: "", inFlow: null, implicitKey: true };
const FLOW_VALUE: Context = { indent: "", inFlow: true, implicitKey: false };
const BLOCK_VALUE: Context = { indent: "", inFlow: null, implicitKey: false };

/** A tag test of the schema (`tag.test`), for tags that may resolve a plain scalar. */
interface TagWithTest {
  readonly default?: boolean | "key";
  readonly tag: string;
  readonly test?: RegExp;
}

interface Context {
  /** Indentation of the lines of the node being printed. */
  readonly indent: string;
  /** True inside a flow collection; null where the node's own style decides. */
  readonly inFlow: true | null;
  /** True when printing a map key. */
  readonly implicitKey: boolean;
}

/** At most this many strings, each at most this long, are remembered by a {@link PlainStringCache}. */
const MAX_CACHED_STRINGS = 100_000;
const MAX_CACHED_LENGTH = 1024;

/**
 * The printed form of plain-style strings, remembered across the documents of one file: their
 * keys and most values recur in every document, and deciding a plain string's form runs the
 * schema's tag tests and several regular expressions. A form depends on the string, on whether
 * it is inside a flow collection and on the schema's tag tests: the cache serves only printers
 * whose tag tests are those of the first printer that used it (the same tag objects in order).
 *
 * @example One cache for the documents of a file
 * ```ts
 * import { parseDocument } from "yaml";
 * import { PlainStringCache, printPlainDocument } from "./plain_document_printer.ts";
 *
 * const style = { lineWidth: 0, indentSeq: true, flowCollectionPadding: true };
 * const cache = new PlainStringCache();
 * for (const text of ["a: yes\n", "a: 'yes'\n"]) {
 *   console.log(printPlainDocument(parseDocument(text, { version: "1.1" }), style, true, cache));
 * }
 * // a: yes (printed as the package prints a YAML 1.1 boolean), then a: "yes"
 * ```
 */
export class PlainStringCache {
  #tagTests: readonly TagWithTest[] | undefined;
  /** Printed forms outside flow collections, and inside. */
  readonly #block = new Map<string, string>();
  readonly #flow = new Map<string, string>();

  /** The forms for a printer with `tagTests`, or undefined when they are not the cache's. */
  formsFor(
    tagTests: readonly TagWithTest[],
  ): { block: Map<string, string>; flow: Map<string, string> } | undefined {
    if (this.#tagTests === undefined) this.#tagTests = tagTests;
    const own = this.#tagTests;
    if (own.length !== tagTests.length || own.some((t, i) => t !== tagTests[i])) return undefined;
    return { block: this.#block, flow: this.#flow };
  }
}

/** The printer for one document's schema and style. */
class Printer {
  readonly #tagTests: readonly TagWithTest[];
  readonly #padding: string;
  /** Remembered plain-style forms (see {@link PlainStringCache}), when a cache serves them. */
  readonly #blockForms: Map<string, string> | undefined;
  readonly #flowForms: Map<string, string> | undefined;

  constructor(doc: Document, private readonly style: PrintStyle, cache?: PlainStringCache) {
    const schema = doc.schema;
    this.#tagTests = [...schema.tags, ...(schema.compat ?? [])].filter((t) =>
      t.default && t.tag !== "tag:yaml.org,2002:str" && (t as TagWithTest).test
    ) as TagWithTest[];
    this.#padding = style.flowCollectionPadding ? " " : "";
    const forms = cache?.formsFor(this.#tagTests);
    this.#blockForms = forms?.block;
    this.#flowForms = forms?.flow;
  }

  node(item: unknown, ctx: Context): string {
    if (isScalar(item)) {
      assertBare(item);
      return this.scalar(item.value, item, ctx);
    }
    if (isMap(item)) {
      assertBare(item);
      return this.map(item, ctx);
    }
    if (isSeq(item)) {
      assertBare(item);
      return this.seq(item, ctx);
    }
    if (isPair(item) || isAlias(item) || (typeof item === "object" && item !== null)) {
      throw new Unsupported();
    }
    return this.scalar(item, undefined, ctx); // a plain value the package turns into a scalar
  }

  scalar(value: unknown, node: Scalar | undefined, ctx: Context): string {
    if (typeof value === "string") return this.string(value, node?.type, ctx);
    if (node?.format !== undefined || (node as { minFractionDigits?: number })?.minFractionDigits) {
      throw new Unsupported();
    }
    if (typeof value === "number" && Number.isSafeInteger(value) && !Object.is(value, -0)) {
      return String(value);
    }
    if (typeof value === "boolean") {
      const text = value ? "true" : "false";
      if (node?.source !== undefined && node.source !== text) throw new Unsupported();
      return text;
    }
    throw new Unsupported();
  }

  string(value: string, type: Scalar.Type | undefined, ctx: Context): string {
    if (type === Scalar.PLAIN || type === undefined) {
      const forms = ctx.inFlow ? this.#flowForms : this.#blockForms;
      if (forms === undefined || value.length > MAX_CACHED_LENGTH) {
        return this.#uncachedString(value, type, ctx);
      }
      const known = forms.get(value);
      if (known !== undefined) return known;
      const text = this.#uncachedString(value, type, ctx);
      if (forms.size < MAX_CACHED_STRINGS) forms.set(value, text);
      return text;
    }
    return this.#uncachedString(value, type, ctx);
  }

  #uncachedString(value: string, type: Scalar.Type | undefined, ctx: Context): string {
    if (
      NEEDS_ESCAPE.test(value) || value.includes("\n") || value.includes("\t") ||
      value === MERGE_KEY
    ) {
      // Escapes, line breaks, tabs; and `<<`, which the package prints through its merge tag.
      throw new Unsupported();
    }
    switch (type) {
      case Scalar.QUOTE_DOUBLE:
        return doubleQuoted(value);
      case Scalar.QUOTE_SINGLE:
        return `'${value.replaceAll("'", "''")}'`;
      case Scalar.PLAIN:
      case undefined:
        return this.plain(value, ctx);
      default:
        throw new Unsupported(); // block scalars
    }
  }

  plain(value: string, ctx: Context): string {
    if ((ctx.inFlow && FLOW_INDICATOR.test(value)) || NOT_PLAIN.test(value)) return quoted(value);
    if (DOCUMENT_MARKER.test(value)) throw new Unsupported();
    if (this.#tagTests.some((t) => t.test!.test(value))) return quoted(value);
    return value;
  }

  map(map: YAMLMap, ctx: Context): string {
    if (map.items.length === 0) return "{}";
    const pairs = map.items as unknown[];
    if ((ctx.inFlow ?? map.flow) === true) {
      const itemCtx: Context = {
        indent: ctx.indent + INDENT_STEP,
        inFlow: true,
        implicitKey: false,
      };
      const parts = pairs.map((p) => this.pair(p, itemCtx));
      return this.flow("{", parts, "}");
    }
    const itemCtx: Context = { indent: ctx.indent, inFlow: ctx.inFlow, implicitKey: false };
    return pairs.map((p) => this.pair(p, itemCtx)).join(`\n${ctx.indent}`);
  }

  seq(seq: YAMLSeq, ctx: Context): string {
    if (seq.items.length === 0) return "[]";
    const itemIndent = ctx.indent + "  ";
    if ((ctx.inFlow ?? seq.flow) === true) {
      const itemCtx: Context = {
        indent: itemIndent + INDENT_STEP,
        inFlow: true,
        implicitKey: false,
      };
      return this.flow("[", seq.items.map((item) => this.node(item, itemCtx)), "]");
    }
    const itemCtx: Context = { indent: itemIndent, inFlow: ctx.inFlow, implicitKey: false };
    return seq.items.map((item) => `- ${this.node(item, itemCtx)}`).join(`\n${ctx.indent}`);
  }

  flow(start: string, parts: readonly string[], end: string): string {
    if (parts.some((p) => p.includes("\n"))) throw new Unsupported(); // printed over lines
    return `${start}${this.#padding}${parts.join(", ")}${this.#padding}${end}`;
  }

  pair(item: unknown, ctx: Context): string {
    if (!isPair(item)) throw new Unsupported();
    const { key, value } = item as Pair;
    const inner = ctx.indent + INDENT_STEP;
    if (isScalar(key)) {
      assertBare(key);
      if (key.type === Scalar.BLOCK_FOLDED || key.type === Scalar.BLOCK_LITERAL) {
        throw new Unsupported();
      }
    } else if ((typeof key !== "string" && typeof key !== "number") || !key) {
      throw new Unsupported(); // collection, alias, or a key the package prints as `? key`
    }
    // A key is a scalar (or a raw string or number): its text depends on the context's inFlow
    // alone (a scalar is printed on one line).
    const keyText = isScalar(key)
      ? this.scalar(key.value, key, ctx.inFlow ? FLOW_KEY : BLOCK_KEY)
      : this.node(key, { indent: inner, inFlow: ctx.inFlow, implicitKey: true });
    if (!ctx.inFlow && keyText.length > 1024) throw new Unsupported(); // explicit `? key`
    if (value === null || value === undefined || isPair(value) || isAlias(value)) {
      throw new Unsupported();
    }
    if (isScalar(value)) {
      if (value.value === null || value.value === undefined) throw new Unsupported();
      // A scalar value is printed on the key's line; its text depends on inFlow alone.
      assertBare(value);
      return `${keyText}: ${
        this.scalar(value.value, value, ctx.inFlow ? FLOW_VALUE : BLOCK_VALUE)
      }`;
    }
    const seqBelowKey = isSeq(value) && !this.style.indentSeq && !ctx.inFlow && !value.flow;
    const valueCtx: Context = {
      indent: seqBelowKey ? inner.substring(2) : inner,
      inFlow: ctx.inFlow,
      implicitKey: false,
    };
    const valueText = this.node(value, valueCtx);
    if (isMap(value) || isSeq(value)) {
      const flow = ctx.inFlow ?? value.flow ?? value.items.length === 0;
      if (valueText.includes("\n") || !flow) return `${keyText}:\n${valueCtx.indent}${valueText}`;
    }
    return `${keyText}: ${valueText}`;
  }
}

/** Refuses a node with a comment, blank line before it, anchor or tag. */
function assertBare(node: Scalar | YAMLMap | YAMLSeq): void {
  if (node.comment || node.commentBefore || node.spaceBefore || node.anchor || node.tag) {
    throw new Unsupported();
  }
}

function doubleQuoted(value: string): string {
  // For strings without control characters, lone surrogates or line breaks the package's
  // double-quoted form is the JSON string (only `"` and `\` escaped).
  return JSON.stringify(value);
}

/** The package's choice of quotes for a string that cannot be plain (`singleQuote` unset). */
function quoted(value: string): string {
  const hasDouble = value.includes('"');
  return hasDouble && !value.includes("'") ? `'${value}'` : doubleQuoted(value);
}

/**
 * `doc.toString(style)` for a document this printer handles (see the module documentation),
 * else `undefined`. `printsNoDirective`: the caller checked that the document's directives print
 * nothing (see `render.ts`). `cache`: plain-style forms remembered across the documents of a
 * file (see {@link PlainStringCache}).
 */
export function printPlainDocument(
  doc: Document,
  style: PrintStyle,
  printsNoDirective: boolean,
  cache?: PlainStringCache,
): string | undefined {
  const contents = doc.contents;
  if (
    !printsNoDirective || style.lineWidth !== 0 || doc.errors.length > 0 || doc.commentBefore ||
    doc.comment || doc.directives?.docEnd || !isMap(contents)
  ) {
    return undefined;
  }
  try {
    const body = new Printer(doc, style, cache).node(contents, {
      indent: "",
      inFlow: null,
      implicitKey: false,
    });
    return `${doc.directives?.docStart ? "---\n" : ""}${body}\n`;
  } catch (error) {
    if (error instanceof Unsupported) return undefined;
    throw error;
  }
}
