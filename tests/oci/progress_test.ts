import assert from "node:assert/strict";
import { formatBytes, LineProgress, TerminalProgress } from "../../oci/progress.ts";

Deno.test("formats byte counts in binary units", () => {
  assert.equal(formatBytes(0), "0 B");
  assert.equal(formatBytes(1023), "1023 B");
  assert.equal(formatBytes(1536), "1.5 KiB");
  assert.equal(formatBytes(27 * 1024 * 1024), "27.0 MiB");
});

Deno.test("terminal progress rewrites one line per image and ends it with the digest", () => {
  const out: string[] = [];
  const p = new TerminalProgress((t) => out.push(t));
  p.start("nginx:1.27", 2, 2048);
  p.advance("nginx:1.27", 512);
  p.advance("nginx:1.27", 513); // same percent: no new output
  p.advance("nginx:1.27", 2048);
  p.done("nginx:1.27", "sha256:abc");
  assert.deepEqual(out, [
    "\r\x1b[KPulling nginx:1.27: 2 layers, 2.0 KiB",
    "\r\x1b[KPulling nginx:1.27: 512 B / 2.0 KiB",
    "\r\x1b[KPulling nginx:1.27: 2.0 KiB / 2.0 KiB",
    "\r\x1b[KPulled nginx:1.27 (sha256:abc, 2.0 KiB)\n",
  ]);
  assert.equal(out.join("").split("\n").length, 2, "exactly one finished line");
});

Deno.test("line progress prints one plain line per finished image and nothing else", () => {
  const out: string[] = [];
  const p = new LineProgress((t) => out.push(t));
  p.start("a:1", 1, 1024);
  p.advance();
  p.done("a:1", "sha256:abc");
  assert.deepEqual(out, ["Pulled a:1 (sha256:abc, 1.0 KiB)\n"]);
});
