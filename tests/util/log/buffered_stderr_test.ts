import assert from "node:assert/strict";
import { BufferedStderr } from "../../../util/log/buffered_stderr.ts";

const SINK = new URL("../../../util/log/buffered_stderr.ts", import.meta.url).href;
const TEXT = new TextDecoder();

/** Runs `code` (a module with `stderr`, a {@link BufferedStderr}) in a child; its exit and stderr. */
async function run(code: string, slowReader = false): Promise<{ code: number; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      "--ext=ts",
      `import { BufferedStderr } from "${SINK}"; const stderr = new BufferedStderr(); ${code}`,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  // A reader that waits first lets the pipe fill: the writer then gets partial writes.
  if (slowReader) await new Promise((r) => setTimeout(r, 300));
  const stderr = await new Response(child.stderr).text();
  return { code: (await child.status).code, stderr };
}

/** A sink writing into `written` (one string per write), never flushed at exit. */
function recorded(written: string[], capacity?: number): BufferedStderr {
  return new BufferedStderr({
    write: (bytes) => written.push(TEXT.decode(bytes)),
    flushOnExit: false,
    ...(capacity !== undefined ? { capacity } : {}),
  });
}

Deno.test("buffered stderr: every line whole and in order, also lines larger than the pipe and the buffer", async () => {
  const big = "x".repeat(300_000);
  const out = await run(
    `stderr.sink("first", "info");
     stderr.sink("x".repeat(300_000), "info");
     stderr.sink("läst ✓", "info");`,
    true,
  );
  assert.equal(out.code, 0);
  assert.equal(out.stderr, `first\n${big}\nläst ✓\n`);
});

Deno.test("buffered stderr: lines are written together once the first has waited the delay", async () => {
  const written: string[] = [];
  const stderr = new BufferedStderr({
    write: (bytes) => written.push(TEXT.decode(bytes)),
    flushOnExit: false,
    delayMs: 30,
  });
  stderr.sink("a", "info");
  await new Promise((r) => setTimeout(r, 5));
  stderr.sink("b", "warn");
  assert.deepEqual(written, []);
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(written, ["a\nb\n"]);
  stderr.sink("c", "debug");
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(written, ["a\nb\n", "c\n"]);
});

Deno.test("buffered stderr: an error line is written at once, with the lines before it", () => {
  const written: string[] = [];
  const stderr = recorded(written);
  stderr.sink("a", "info");
  stderr.sink("failed", "error");
  assert.deepEqual(written, ["a\nfailed\n"]);
  // Nothing is left pending (no timer either: the test's sanitizer would say so).
  stderr.flush();
  assert.deepEqual(written, ["a\nfailed\n"]);
});

Deno.test("buffered stderr: a full buffer is written before the line that does not fit", () => {
  const written: string[] = [];
  const stderr = recorded(written, 16);
  stderr.sink("1234", "info"); // at most 13 bytes: fits (5 held)
  stderr.sink("abcd", "info"); // at most 13 more: does not fit, the first is written
  stderr.sink("x".repeat(20), "info"); // larger than the buffer: written on its own, in order
  stderr.flush();
  assert.deepEqual(written, ["1234\n", "abcd\n", `${"x".repeat(20)}\n`]);
  assert.equal(written.join(""), `1234\nabcd\n${"x".repeat(20)}\n`);
});

Deno.test("buffered stderr: Deno.exit and an uncaught exception write what was gathered", async () => {
  const exited = await run(`stderr.sink("before exit", "info"); Deno.exit(3);`);
  assert.equal(exited.code, 3);
  assert.equal(exited.stderr, "before exit\n");
  const crashed = await run(`stderr.sink("before the crash", "info"); throw new Error("boom");`);
  assert.equal(crashed.code, 1);
  assert.match(crashed.stderr, /^before the crash\n/);
  assert.match(crashed.stderr, /boom/);
  const rejected = await run(
    `stderr.sink("before the rejection", "info"); Promise.reject(new Error("late"));`,
  );
  assert.equal(rejected.code, 1);
  assert.match(rejected.stderr, /^before the rejection\n/);
});

Deno.test("buffered stderr: a batch stderr refuses in the timer is dropped and counted, the process goes on", async () => {
  const written: string[] = [];
  let refuse = true;
  const stderr = new BufferedStderr({
    write: (bytes) => {
      if (refuse) throw new Deno.errors.BrokenPipe("Broken pipe (os error 32)");
      written.push(TEXT.decode(bytes));
    },
    flushOnExit: false,
    delayMs: 10,
  });
  stderr.sink("lost", "info");
  await new Promise((r) => setTimeout(r, 40)); // an uncaught error here would fail the test
  assert.equal(stderr.droppedWrites, 1);
  refuse = false;
  stderr.sink("kept", "info");
  await new Promise((r) => setTimeout(r, 40));
  assert.deepEqual(written, ["kept\n"]);
  // A write its caller asked for still throws to that caller.
  refuse = true;
  stderr.sink("pending", "info");
  assert.throws(() => stderr.flush(), Deno.errors.BrokenPipe);
});
