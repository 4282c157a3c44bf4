/**
 * Byte order marks (U+FEFF) at the start of a line, read as kubectl reads them. kubectl splits a
 * stream into documents with apimachinery's `YAMLReader` (a line starting `---`, followed by
 * nothing but spaces or a comment, ends a non-empty document and is dropped) and hands each piece
 * to go-yaml v2, which drops one BOM at the very start of its input. So a BOM right after such a
 * separator line is not part of the document for kubectl: files concatenated from editors that
 * write a BOM (`cat a.yml b.yml` with `---` between them) apply fine. The `yaml` package drops a
 * BOM only at the start of the stream and reads this one as text (`\uFEFFapiVersion`), so it is
 * removed before parsing. Anywhere else at the start of a line, kubectl reads a BOM as text too
 * (measured with apimachinery v0.37.2's `YAMLOrJSONDecoder`: after the first `---` of a stream,
 * which `YAMLReader` keeps in the document, after a blank or comment line, inside a document), so
 * the document's first key or a field name would start with U+FEFF, which no Kubernetes field
 * does; such a BOM is refused (as are two BOMs in a row, of which go-yaml drops the second at a
 * shifted column, and a BOM before a `---` or `...` marker), since printing the document could put
 * it right after a separator, where kubectl would drop it.
 *
 * @module
 */

const BOM = "\uFEFF";

/** Go's `unicode.IsSpace` characters (what `strings.TrimSpace` trims). */
const GO_SPACE = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*/;

/** One refused BOM, as `InvalidDocumentError` lists problems. */
interface BomIssue {
  readonly path: string;
  readonly reason: string;
}

/** The text to parse (BOMs after separators removed) and the BOMs refused. */
interface SeparatorBoms {
  /** `text` without the BOMs kubectl drops after a `---` separator line. */
  readonly text: string;
  /** How many BOMs were removed (0: `text` is the input). */
  readonly removed: number;
  readonly issues: readonly BomIssue[];
}

/** Whether `line` (without its line break) is a separator line for apimachinery's `YAMLReader`. */
function isSeparatorLine(line: string): boolean {
  if (!line.startsWith("---")) return false;
  const rest = line.slice(3).replace(GO_SPACE, "");
  return rest === "" || rest.startsWith("#");
}

/**
 * Removes the BOMs kubectl drops (one right after a separator line that ends a non-empty
 * document) and lists every other BOM at the start of a line (the one at the start of the file
 * excepted: both readers drop it).
 *
 * @example A BOM after a separator is dropped, one inside a document refused
 * ```ts
 * import { separatorBoms } from "./separator_boms.ts";
 *
 * separatorBoms("app.yml", "a: 1\n---\n\uFEFFb: 2\n").text; // "a: 1\n---\nb: 2\n"
 * separatorBoms("app.yml", "a: 1\n\uFEFFb: 2\n").issues[0]?.path; // "app.yml:2:1"
 * ```
 */
export function separatorBoms(file: string, text: string): SeparatorBoms {
  if (!text.includes(BOM)) return { text, removed: 0, issues: [] };
  const issues: BomIssue[] = [];
  const lines = text.split("\n");
  let chunkEmpty = true;
  let afterSeparator = false;
  let removed = 0;
  lines.forEach((raw, i) => {
    // The BOM at the very start of the file: kubectl's file reader and the `yaml` package drop it.
    let line = i === 0 && raw.startsWith(BOM) ? raw.slice(1) : raw;
    const at = `${file}:${i + 1}:${i === 0 && raw !== line ? 2 : 1}`;
    if (afterSeparator && line.startsWith(BOM)) {
      line = line.slice(1);
      lines[i] = line;
      removed++;
      if (line.startsWith(BOM)) {
        issues.push({
          path: `${file}:${i + 1}:2`,
          reason: "a second byte order mark (U+FEFF) after a --- separator: kubectl drops the " +
            "first and reads the document shifted by one column; remove it",
        });
      } else if (line.startsWith("---") || line.startsWith("...")) {
        issues.push({
          path: at,
          reason: "a byte order mark (U+FEFF) before a document marker: kubectl does not see " +
            "that line as a separator; remove it",
        });
      }
    } else if (line.startsWith(BOM)) {
      issues.push({
        path: at,
        reason: "a byte order mark (U+FEFF) at the start of a line: kubectl drops one only at " +
          "the start of the file or right after a --- separator line and reads this one as " +
          "text, so the key or value after it would start with U+FEFF; remove it",
      });
    }
    afterSeparator = false;
    if (isSeparatorLine(line.replace(/\r$/, ""))) {
      // YAMLReader: a separator ends a non-empty document and is dropped; at the start of a
      // document it is kept as the document's first line (and go-yaml reads it as `---`).
      if (chunkEmpty) chunkEmpty = false;
      else {
        chunkEmpty = true;
        afterSeparator = true;
      }
    } else chunkEmpty = false;
  });
  return { text: removed > 0 ? lines.join("\n") : text, removed, issues };
}
