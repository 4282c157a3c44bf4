/**
 * One real TDX verification (`contrast evidence verify`, offline, a real platform's collateral)
 * checks every signature once: the TCB info's and the QE identity's issuer chains share the TCB
 * signing certificate's link and the Intel root CA CRL, and the two chains are verified at once;
 * the second waits for the first's check instead of repeating the ECDSA verification (it did
 * before, 12 verifications where 10 are distinct).
 */
import assert from "node:assert/strict";
import { runCli } from "../../cli/main.ts";
import { conformanceFile, conformanceTest } from "../conformance.ts";
import { encodeHex } from "../../util/bytes/mod.ts";

conformanceTest("a TDX evidence verification checks no signature twice", async () => {
  const dir = conformanceFile("tdx/v4-phala-b0c06f-uptodate/").pathname;
  const subtle = crypto.subtle;
  const original = subtle.verify;
  const checked: string[] = [];
  // deno-lint-ignore no-explicit-any
  (subtle as any).verify = async (...args: Parameters<SubtleCrypto["verify"]>) => {
    const [, , signature, data] = args;
    const bytes = (b: BufferSource) =>
      b instanceof ArrayBuffer
        ? new Uint8Array(b)
        : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    checked.push(`${encodeHex(bytes(signature))}:${encodeHex(bytes(data))}`);
    return await original.apply(subtle, args);
  };
  const log = console.log;
  console.log = () => {};
  let code: number;
  try {
    code = await runCli([
      "evidence",
      "verify",
      "--platform",
      "tdx",
      "--quote",
      `${dir}quote.bin`,
      "--collateral-dir",
      dir,
      "--offline",
      "--now",
      "2025-06-19T11:32:27Z",
      "--json",
    ]);
  } finally {
    console.log = log;
    // deno-lint-ignore no-explicit-any
    (subtle as any).verify = original;
  }
  assert.equal(code, 0);
  assert.ok(checked.length >= 8, `only ${checked.length} signatures checked`);
  assert.equal(new Set(checked).size, checked.length, "a signature was checked twice");
});
