import assert from "node:assert/strict";

const SINK = new URL("../../../util/log/stderr_sink.ts", import.meta.url).href;

/** Runs `code` (a module importing the sink) in a child process; returns its stderr. */
async function stderrOf(code: string, slowReader: boolean): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", code],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  // A reader that waits first lets the pipe fill: the writer then gets partial writes.
  if (slowReader) await new Promise((r) => setTimeout(r, 300));
  const out = await new Response(child.stderr).text();
  assert.equal((await child.status).code, 0);
  return out;
}

Deno.test("stderrSink writes every line whole and in order, also lines larger than the pipe", async () => {
  const big = "x".repeat(300_000);
  const out = await stderrOf(
    `import { stderrSink } from "${SINK}";
     stderrSink("first");
     stderrSink("${"x"}".repeat(300_000));
     stderrSink("läst ✓");`,
    true,
  );
  assert.equal(out, `first\n${big}\nläst ✓\n`);
});
