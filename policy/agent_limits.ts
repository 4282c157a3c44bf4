/**
 * The Kata agent's limits on the policy text it loads (kata-containers
 * `src/agent/policy/src/policy.rs`, passed to regorus): at most 64 KiB per line, 16 MiB per file
 * and 200,000 lines. A policy over any of them is refused by the agent, so every pod with it would
 * fail to start; `generate` checks them and names the pod.
 *
 * @module
 */
import { InvalidDocumentError } from "../util/errors/mod.ts";

/** Limits on a policy text, in UTF-8 bytes and lines. */
interface PolicyTextLimits {
  readonly maxLineBytes: number;
  readonly maxFileBytes: number;
  readonly maxLines: number;
}

/** The limits Kata's agent sets (policy.rs). */
export const KATA_AGENT_POLICY_LIMITS: PolicyTextLimits = {
  maxLineBytes: 64 * 1024,
  maxFileBytes: 16 * 1024 * 1024,
  maxLines: 200_000,
};

/** Size figures of a policy text. */
export interface PolicyTextSize {
  readonly bytes: number;
  readonly lines: number;
  readonly longestLineBytes: number;
  /** 1-based number of the longest line. */
  readonly longestLine: number;
}

// deno-lint-ignore no-control-regex
const NON_ASCII = /[^\u0000-\u007f]/;

/**
 * Measures `text` as the agent counts it (UTF-8 bytes, `\n`-separated lines) in one pass: over
 * the string itself when it is ASCII (one byte per character), else over its UTF-8 encoding
 * (generate measures every pod's policy).
 */
export function measurePolicyText(text: string): PolicyTextSize {
  const utf8 = NON_ASCII.test(text) ? new TextEncoder().encode(text) : undefined;
  const length = utf8?.length ?? text.length;
  const nextNewline = utf8
    ? (from: number) => utf8.indexOf(0x0a, from)
    : (from: number) => text.indexOf("\n", from);
  let lines = 0;
  let longestLineBytes = 0;
  let longestLine = 0;
  let lineStart = 0;
  const endLine = (end: number) => {
    lines++;
    if (end - lineStart > longestLineBytes) {
      longestLineBytes = end - lineStart;
      longestLine = lines;
    }
  };
  for (let at = nextNewline(0); at >= 0; at = nextNewline(lineStart)) {
    endLine(at);
    lineStart = at + 1;
  }
  // A final line without "\n" counts; an empty text has no lines, like split + dropped last "".
  if (lineStart < length) endLine(length);
  return { bytes: length, lines, longestLineBytes, longestLine };
}

/**
 * The size of the text `first + second` from the sizes of its parts, when `first` is empty or
 * ends with `\n` (so no line spans both): the same figures {@link measurePolicyText} gives for
 * the whole text.
 */
export function combinePolicyTextSizes(
  first: PolicyTextSize,
  second: PolicyTextSize,
): PolicyTextSize {
  const secondLonger = second.longestLineBytes > first.longestLineBytes;
  return {
    bytes: first.bytes + second.bytes,
    lines: first.lines + second.lines,
    longestLineBytes: secondLonger ? second.longestLineBytes : first.longestLineBytes,
    longestLine: secondLonger ? first.lines + second.longestLine : first.longestLine,
  };
}

/** What in `size` exceeds `limits`, one sentence each (empty: within limits). */
export function limitViolations(
  size: PolicyTextSize,
  limits: PolicyTextLimits = KATA_AGENT_POLICY_LIMITS,
): string[] {
  const out: string[] = [];
  if (size.longestLineBytes > limits.maxLineBytes) {
    out.push(
      `line ${size.longestLine} is ${size.longestLineBytes} bytes, over the agent's ${limits.maxLineBytes} per line`,
    );
  }
  if (size.bytes > limits.maxFileBytes) {
    out.push(`${size.bytes} bytes, over the agent's ${limits.maxFileBytes} per policy`);
  }
  if (size.lines > limits.maxLines) {
    out.push(`${size.lines} lines, over the agent's ${limits.maxLines}`);
  }
  return out;
}

/**
 * Throws when the policy text of `pod` exceeds the agent's limits.
 *
 * @throws {InvalidDocumentError} at `path`, naming the pod and every limit exceeded
 */
export function assertWithinAgentLimits(
  text: string,
  pod: string,
  path: string,
  limits: PolicyTextLimits = KATA_AGENT_POLICY_LIMITS,
): void {
  assertSizeWithinAgentLimits(measurePolicyText(text), pod, path, limits);
}

/**
 * Throws when a policy text of `size` (see {@link measurePolicyText}) exceeds the agent's limits.
 *
 * @throws {InvalidDocumentError} at `path`, naming the pod and every limit exceeded
 */
export function assertSizeWithinAgentLimits(
  size: PolicyTextSize,
  pod: string,
  path: string,
  limits: PolicyTextLimits = KATA_AGENT_POLICY_LIMITS,
): void {
  const violations = limitViolations(size, limits);
  if (violations.length > 0) {
    throw new InvalidDocumentError([{
      path,
      reason: `the policy of ${pod} would be refused by the Kata agent: ${violations.join("; ")}`,
    }]);
  }
}
