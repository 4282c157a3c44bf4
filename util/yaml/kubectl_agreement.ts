/**
 * Input that kubectl would read differently from `contrast generate`. The API server and kubectl
 * read YAML with go-yaml v2 (through sigs.k8s.io/yaml); generate reads it with the `yaml` package.
 * Where the two disagree, the policy generate computes describes another pod than the one kubectl
 * applies, so such input is refused:
 *
 * - a map key `<<` that is not a merge key (`"<<": {…}`, `'<<'`, `!!str <<`): the `yaml` package
 *   reads an ordinary key (or, for `!!str <<`, a merge), go-yaml a merge key once printed plain
 *   (or, for `!!str <<`, an ordinary key). No Kubernetes field, label or annotation key is `<<`.
 * - a key a later merge key gives again (`{privileged: true, <<: {privileged: false}}`): go-yaml
 *   takes the merged value, the `yaml` package the earlier one (`merge_order.ts`).
 * - U+0085, U+2028 and U+2029, which go-yaml takes for line breaks (the `yaml` package does not:
 *   `workingDir: /app<U+2028>command: …` is one string to generate and two keys to kubectl), and
 *   the characters go-yaml's reader refuses ("control characters are not allowed"; it accepts
 *   tab, LF, CR, U+0020–U+007E, U+0085, U+00A0–U+D7FF, U+E000–U+FFFD and beyond U+FFFF): the C0
 *   controls other than tab, LF and CR, DEL, the C1 controls U+0080–U+009F and U+FFFE/U+FFFF.
 *   The `yaml` package reads them all. Refused raw anywhere in the text (a value, a key, a
 *   comment) and, except for the C0 controls, in any string value however it is spelled: the
 *   escapes of double-quoted scalars (`\N`, `\x86`, `\u2028`, `\U0000009F`…) give go-yaml the
 *   same string, but the `yaml` package prints DEL, the C1 controls, U+2028, U+2029, U+FFFE and
 *   U+FFFF raw, which kubectl then reads differently or rejects. Escaped C0 controls (`\e`,
 *   `\x01`) stay accepted: both read them alike and the printer escapes them.
 * - a map key that is an alias (`*k : value`, `&k name` anchored elsewhere in the document):
 *   kubectl and the API server take the anchored value as the key (`spec: {*r : contrast-cc}`
 *   with `&r runtimeClassName` in a label is a pod with runtimeClassName contrast-cc, checked
 *   with kubectl v1.37 `create --dry-run=client -o json`), but generate's reads of the node tree
 *   by key name (the runtime class, metadata, the maps it edits) do not see it: such a pod was
 *   left unchanged, without a policy. No Kubernetes manifest needs one.
 *
 * The checks are cheap in the common case: a scan of the text for the refused characters, and
 * the walk over a document's nodes only when its text has a refused character, `<<`, a
 * backslash, or both `&` and `*` (an alias needs an anchor in its document, so a CronJob's
 * schedule of stars and slashes alone costs no walk). Neither an escape nor an escaped line
 * break (`"<\` newline `<"`) can make `<<` or one of the characters without a backslash in the
 * double-quoted scalar, so a key or value that reads as one always gets its walk; no finer
 * textual guess decides it (and an alias or anchor is syntax, never made by an escape).
 *
 * @module
 */
import {
  type Document,
  isAlias,
  isPair,
  isScalar,
  isSeq,
  type Node,
  type Scalar,
  visit,
} from "yaml";
import { InvalidDocumentError } from "../errors/mod.ts";
import { mergeOverrides } from "./merge_order.ts";

/**
 * Characters go-yaml reads as line breaks (U+0085, U+2028, U+2029) or whose raw presence its
 * reader refuses (C0 controls but tab, LF and CR; DEL; C1 controls; U+FFFE and U+FFFF).
 */
// deno-lint-ignore no-control-regex -- control characters are what this finds
const GO_YAML_BREAK_OR_INVALID = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufffe\uffff]/;

/**
 * Characters refused in a string value however it is spelled: those of
 * {@link GO_YAML_BREAK_OR_INVALID} the `yaml` package prints raw (it escapes the C0 controls).
 */
const REFUSED_IN_VALUES = /[\x7f-\x9f\u2028\u2029\ufffe\uffff]/;

/** One problem, as {@link InvalidDocumentError} lists them. */
interface AgreementIssue {
  readonly path: string;
  readonly reason: string;
}

const MERGE_KEY = "<<";

/** `U+2028` for a character. */
function codePoint(c: string): string {
  return `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** `file:line:col` of `offset` in `text`. */
function position(file: string, text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return `${file}:${line}:${offset - before.lastIndexOf("\n")}`;
}

/** The field path of a node from the ancestors `visit` hands over (`spec.containers[0].name`). */
function fieldPath(doc: Document.Parsed, ancestors: readonly unknown[], last: unknown): string {
  const parts: string[] = [];
  const chain = [...ancestors, last];
  for (let i = 0; i < chain.length; i++) {
    const node = chain[i];
    if (isPair(node)) {
      const keyNode = isAlias(node.key) ? node.key.resolve(doc) : node.key;
      const key = isScalar(keyNode) ? keyNode.value : keyNode;
      const name = typeof key === "symbol" ? key.description : String(key); // `<<`: a symbol
      if (chain[i + 1] !== node.key) parts.push(`.${name}`);
    } else if (isSeq(node) && chain[i + 1] !== undefined) {
      parts.push(`[${node.items.indexOf(chain[i + 1] as Node)}]`);
    }
  }
  return parts.join("").replace(/^\./, "") || "(document)";
}

/**
 * Every place in `docs` (parsed from `text` of `file`) that kubectl would read differently, in
 * document order. Cheap when there is none (see the module documentation).
 */
export function kubectlDisagreements(
  file: string,
  text: string,
  docs: readonly Document.Parsed[],
): AgreementIssue[] {
  const rawCharacter = GO_YAML_BREAK_OR_INVALID.test(text);
  const issues: AgreementIssue[] = [];
  const reported: [number, number][] = [];
  docs.forEach((doc, index) => {
    if (doc.errors.length > 0) return; // reported as YAML errors
    const source = text.slice(doc.range[0], doc.range[2]);
    // Only an escape (or escaped line break) of a double-quoted scalar reads as something else
    // than its characters in the text, and each starts with a backslash.
    const escapes = source.includes("\\");
    const checkStrings = rawCharacter || escapes;
    const checkMergeKeys = escapes || source.includes(MERGE_KEY);
    // An alias names an anchor of its own document (else the document has an error).
    const checkAliasKeys = source.includes("*") && source.includes("&");
    if (checkStrings || checkMergeKeys || checkAliasKeys) {
      const checks = { checkStrings, checkMergeKeys, checkAliasKeys };
      issues.push(...documentIssues(file, text, doc, index, checks, reported));
    }
  });
  if (rawCharacter) {
    // Outside any string value (a comment, between tokens): named by position.
    const pattern = new RegExp(GO_YAML_BREAK_OR_INVALID.source, "g");
    for (const match of text.matchAll(pattern)) {
      const offset = match.index;
      if (reported.some(([start, end]) => offset >= start && offset < end)) continue;
      issues.push({
        path: position(file, text, offset),
        reason: `${codePoint(match[0])}, which kubectl (go-yaml) reads as a line break or ` +
          "rejects",
      });
    }
  }
  return issues;
}

/** The refused character in scalar `node`'s value or, raw, in its text; null when none. */
function refusedCharacter(text: string, node: Scalar): string | null {
  if (typeof node.value !== "string") return null;
  const found = REFUSED_IN_VALUES.exec(node.value);
  if (found !== null) return found[0];
  if (node.range === undefined || node.range === null) return null;
  return GO_YAML_BREAK_OR_INVALID.exec(text.slice(node.range[0], node.range[1]))?.[0] ?? null;
}

/** The issues of one document; the ranges of the scalars reported go to `reported`. */
function documentIssues(
  file: string,
  text: string,
  doc: Document.Parsed,
  index: number,
  { checkStrings, checkMergeKeys, checkAliasKeys }: {
    checkStrings: boolean;
    checkMergeKeys: boolean;
    checkAliasKeys: boolean;
  },
  reported: [number, number][],
): AgreementIssue[] {
  const issues: AgreementIssue[] = [];
  const where = (ancestors: readonly unknown[], node: unknown) =>
    `${file}[${index}].${fieldPath(doc, ancestors, node)}`;
  visit(doc, {
    Map(_, map, ancestors) {
      if (!checkMergeKeys) return;
      for (const key of mergeOverrides(doc, map)) {
        issues.push({
          path: `${where(ancestors, map)}.${key}`.replace("].(document).", "]."),
          reason: "given again by a later merge key (<<): kubectl (go-yaml) takes the merged " +
            "value, generate (and the policy) the earlier one; give the key once, or write the " +
            "<< before the keys that override it",
        });
      }
    },
    Pair(_, pair, ancestors) {
      if (checkAliasKeys && isAlias(pair.key)) {
        issues.push({
          path: where(ancestors, pair),
          reason: `a key that is an alias (*${pair.key.source}): kubectl (go-yaml) takes the ` +
            "anchored value as the key, generate's reads by key name do not see it; write the " +
            "key out",
        });
        return; // what it names is not read further (an anchored `<<` is refused as this)
      }
      if (!checkMergeKeys) return;
      const key = isAlias(pair.key) ? pair.key.resolve(doc) : pair.key;
      // A real merge key's value is a symbol; a string `<<` is an ordinary (or `!!str`) key.
      if (isScalar(key) && key.value === MERGE_KEY) {
        issues.push({
          path: where(ancestors, pair),
          reason: "a `<<` key that is not a merge key: kubectl (go-yaml) would read it " +
            "differently (as a merge key once printed plain); no Kubernetes key is `<<`",
        });
      }
    },
    Scalar(_, node, ancestors) {
      if (!checkStrings) return;
      const found = refusedCharacter(text, node);
      if (found === null) return;
      if (node.range) reported.push([node.range[0], node.range[1]]);
      const parent = ancestors.at(-1);
      const what = isPair(parent) && parent.key === node ? "a key here" : "the value";
      issues.push({
        path: where(ancestors, node),
        reason: `${what} holds ${codePoint(found)}, which kubectl (go-yaml) reads as a ` +
          "line break or refuses raw: it would not read what generate read or prints",
      });
    },
  });
  return issues;
}

/**
 * Refuses printed YAML holding a character go-yaml (kubectl) reads as a line break or rejects:
 * the `yaml` package prints U+0085, U+2028 and U+2029 raw, also in double quotes and comments.
 * Input holding them is refused when read ({@link kubectlDisagreements}), so this guards what a
 * program prints of its own values (generate's documents, `contrast coordinator`, `runtime`).
 *
 * @throws {InvalidDocumentError} naming `path` and the line
 */
export function refuseGoYamlBreaks(path: string, text: string): void {
  refuseGoYamlBreaksInPieces(path, [text]);
}

/** Pieces at least this long are remembered once scanned (see {@link refuseGoYamlBreaksInPieces}). */
const REPEATED_PIECE_LENGTH = 16_384;

/**
 * {@link refuseGoYamlBreaks} for a text given as pieces whose concatenation it is (each piece is
 * scanned; the line named counts the lines of the pieces before).
 *
 * @throws {InvalidDocumentError} naming `path` and the line
 */
export function refuseGoYamlBreaksInPieces(path: string, pieces: readonly string[]): void {
  // A long piece repeated (generate's initdata annotations all start with the same ~23 KB of
  // base64) is scanned once.
  const scanned = new Set<string>();
  for (const [i, piece] of pieces.entries()) {
    const long = piece.length >= REPEATED_PIECE_LENGTH;
    if (long && scanned.has(piece)) continue;
    const found = GO_YAML_BREAK_OR_INVALID.exec(piece);
    if (found === null) {
      if (long) scanned.add(piece);
      continue;
    }
    const before = pieces.slice(0, i).join("") + piece.slice(0, found.index);
    throw new InvalidDocumentError([{
      path: `${path}:${before.split("\n").length}`,
      reason: `would print ${codePoint(found[0])} raw, which kubectl (go-yaml) reads as a line ` +
        "break or rejects",
    }], { file: path });
  }
}
