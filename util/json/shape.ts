/**
 * A linear pre-parse scan of JSON bytes that bounds what parsing will cost: the number of object
 * keys, the nesting depth and (optionally) the number of `,` separators, counted outside strings.
 * A hostile body (millions of unknown fields, deep nesting, an array of millions of elements) is
 * refused after one pass over its bytes, before `JSON.parse` allocates anything for it. The scan
 * does not validate JSON; the parser still does.
 *
 * @module
 */
import { ParseError } from "../errors/mod.ts";
import {
  BACKSLASH,
  CLOSE_ARRAY,
  CLOSE_OBJECT,
  COLON,
  COMMA,
  OPEN_ARRAY,
  OPEN_OBJECT,
  QUOTE,
} from "./json_bytes.ts";

/** What a document may contain at most. */
export interface JsonShapeLimits {
  /** Largest number of object keys (`:` outside strings). */
  readonly maxKeys: number;
  /** Deepest nesting of objects and arrays. */
  readonly maxDepth: number;
  /**
   * Largest number of `,` outside strings: every array element and object member but the first
   * of its container (none when absent). Without it an array of millions of tiny elements
   * (`[0,0,…]`, `["","",…]`) passes the key and depth bounds and costs the parser, and whoever
   * reads each element, far more memory than its bytes.
   */
  readonly maxSeparators?: number;
}

/**
 * Refuses `bytes` when they hold more object keys, deeper nesting or more separators than `limits`
 * allow.
 *
 * @throws {ParseError} naming `field`, before any parsing
 */
export function checkJsonShape(bytes: Uint8Array, limits: JsonShapeLimits, field: string): void {
  let keys = 0;
  let depth = 0;
  let separators = 0;
  const maxSeparators = limits.maxSeparators ?? Infinity;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
      continue;
    }
    if (b === QUOTE) inString = true;
    else if (b === COLON) {
      if (++keys > limits.maxKeys) {
        throw new ParseError(
          field,
          `more than ${limits.maxKeys} object keys: refused before parsing`,
        );
      }
    } else if (b === COMMA) {
      if (++separators > maxSeparators) {
        throw new ParseError(
          field,
          `more than ${maxSeparators} array elements and object members: refused before parsing`,
        );
      }
    } else if (b === OPEN_OBJECT || b === OPEN_ARRAY) {
      if (++depth > limits.maxDepth) {
        throw new ParseError(
          field,
          `nested deeper than ${limits.maxDepth}: refused before parsing`,
        );
      }
    } else if (b === CLOSE_OBJECT || b === CLOSE_ARRAY) depth--;
  }
}
