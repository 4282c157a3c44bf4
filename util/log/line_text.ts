/**
 * Text that came from elsewhere (a client's request, the Coordinator's or an impostor's answer,
 * a file) made safe to print as part of one line of a log or a terminal: it can neither end the
 * line (and so forge a line of its own) nor drive the terminal.
 *
 * @module
 */

/**
 * Characters a line never carries as they are: C0 and C1 controls (CR and LF end a line; ESC
 * starts terminal sequences that move the cursor or erase what was printed), DEL, the Unicode
 * line and paragraph separators, the bidirectional formatting characters (they reorder what a
 * reader sees) and the backslash (so that every escape is unambiguous).
 */
// deno-lint-ignore no-control-regex -- matching control characters is the point
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\\]/g;

/** `\uXXXX` for one character of {@link UNSAFE} (`\\` for the backslash). */
function escapeCharacter(c: string): string {
  return c === "\\" ? "\\\\" : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/**
 * `text` with every control, line-separator and bidirectional formatting character written as
 * `\uXXXX` and the backslash as `\\`: printed, it is exactly one line, as it reads.
 */
export function escapeLineText(text: string): string {
  UNSAFE.lastIndex = 0;
  return UNSAFE.test(text) ? text.replace(UNSAFE, escapeCharacter) : text;
}
