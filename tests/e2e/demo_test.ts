import assert from "node:assert/strict";

/** Runs `deno task demo`'s script on workspace `ws` without colours, its output captured. */
function runDemo(ws: string): Promise<Deno.CommandOutput> {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../../scripts/demo.ts", import.meta.url).pathname, ws],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
}

Deno.test({
  name: "deno task demo runs the whole flow and every step succeeds",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const ws = await Deno.makeTempDir({ prefix: "contrast-demo-" });
    try {
      const out = await runDemo(ws);
      const text = new TextDecoder().decode(out.stdout);
      assert.equal(out.code, 0, text + new TextDecoder().decode(out.stderr));
      for (const step of [1, 2, 3, 4, 5, 6, 7, 8]) {
        assert.match(text, new RegExp(`\\[${step}/8\\]`));
      }
      assert.match(text, /stand-ins with the real names/);
      assert.match(text, /each pod's policy pins CONTRAST_COORDINATOR_TRUST/);
      const pods = text.match(/^ {2}✔ \S+\/\S+ \(policy [0-9a-f]{12}…\): .*$/gm) ?? [];
      assert.equal(pods.length, 5, "one line per emojivoto pod");
      for (const line of pods) assert.match(line, /: Coordinator attested; SANs \[/);
      assert.match(
        text,
        /✔ web app → web.s egress 127\.137\.0\.1:8081 → mTLS \(mesh CA \+ SAN "emoji-svc\.emojivoto\.svc\.cluster\.local"\) → emoji.s ingress → emoji app: "hello from emoji, you are \[web,web-svc,web-svc\.emojivoto,web-svc\.emojivoto\.svc,web-svc\.emojivoto\.svc\.cluster\.local\]"/,
        "app → egress → mTLS → ingress → app, with the peer identity",
      );
      assert.match(text, /its mesh proxy never serves \(exit 1\): .*key\.pem: missing/);
      assert.match(text, /self-made certificate is refused/);
      // generate's SANs tell workloads apart: voting's certificate does not serve emoji-svc.
      assert.match(
        text,
        /✔ web's egress refuses voting's certificate for "emoji-svc" when the host points that name at voting \(SAN mismatch; nothing reaches voting's app\)/,
      );
      assert.match(
        text,
        /web's policy edited to allow every exec .*\(default ExecProcessRequest allowed\)/,
      );
      assert.match(text, /refused: hostData: coordinator answered 403/);
      assert.ok(text.includes(`wrote ${ws}/seed-shares.json`), "set's files, named in full");
      assert.match(text, /restarted: readiness 412 \(recovery needed\)/);
      assert.match(text, /Recovered: 1 manifest, root CA unchanged/);
      assert.match(text, /active manifest = manifest\.json/);
      assert.match(text, /Demo complete\./);
      assert.ok(text.includes(`Remove it with: rm -rf ${ws}`), "how to clean up");
    } finally {
      await Deno.remove(ws, { recursive: true });
    }
  },
});

Deno.test("deno task demo refuses a workspace it did not make (exit 2) and deletes nothing", async () => {
  const ws = await Deno.makeTempDir({ prefix: "contrast-demo-foreign-" });
  try {
    await Deno.writeTextFile(`${ws}/notes.txt`, "mine");
    const out = await runDemo(ws);
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 2, stderr);
    assert.match(stderr, /demo failed: .*: holds 1 entry and no \.contrast-demo-workspace/);
    assert.equal(await Deno.readTextFile(`${ws}/notes.txt`), "mine");
  } finally {
    await Deno.remove(ws, { recursive: true });
  }
});
