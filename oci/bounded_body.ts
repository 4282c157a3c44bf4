/**
 * Reading HTTP answers of registries and token endpoints with an upper bound: they are the
 * network's, and an answer without end (or a huge one) must not fill the CLI's memory.
 *
 * @module
 */
import { joinBytes } from "../util/bytes/mod.ts";
import { VerificationError } from "../util/errors/mod.ts";

/** Progress callback: bytes received so far of at most `limit`. */
type BodyProgress = (received: number, limit: number) => void;

/**
 * Reads `response`'s body, at most `limit` bytes.
 *
 * @throws {VerificationError} naming `field` when the body (or its declared length) is longer
 */
export async function readBoundedBody(
  response: Response,
  limit: number,
  field: string,
  progress?: BodyProgress,
): Promise<Uint8Array> {
  const declared = response.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) {
    await response.body?.cancel();
    throw new VerificationError(field, `larger than expected (${declared} > ${limit} bytes)`);
  }
  const parts: Uint8Array[] = [];
  let total = 0;
  if (response.body) {
    for await (const chunk of response.body) {
      total += chunk.length;
      if (total > limit) {
        throw new VerificationError(field, `larger than expected (more than ${limit} bytes)`);
      }
      parts.push(chunk);
      progress?.(total, limit);
    }
  }
  return joinBytes(parts);
}

/**
 * The first `limit` bytes of `response`'s body as text (for error messages); the rest is not
 * read. Never throws: an unreadable body is the empty text.
 */
export async function readTextPrefix(response: Response, limit: number): Promise<string> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  try {
    while (total < limit) {
      const { value, done } = await reader.read();
      if (done) break;
      parts.push(value.subarray(0, limit - total));
      total += Math.min(value.length, limit - total);
    }
  } catch {
    // a broken body: whatever arrived
  } finally {
    await reader.cancel().catch(() => {});
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return new TextDecoder().decode(out);
}
