/**
 * What every `contrast` run loads before its command: the static import graph of the CLI's entry
 * point, of the command registry and of `generate` holds no X.509/ASN.1 package and no Node
 * TLS/HTTPS module (loading `@peculiar/x509` and its ASN.1 packages was about 70 ms of CPU at
 * every start, some 7% of a 1,000-pod `contrast generate`). Commands that need them import them
 * from their own modules, which the CLI loads lazily. Likewise the image size options
 * (`cli/image_options.ts`, with the memory-quantity parser and the size limits) load only with
 * `generate` and `policy`, not with `evidence verify` or the command registry.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);

interface InfoModule {
  readonly specifier: string;
  readonly dependencies?: readonly {
    readonly isDynamic?: boolean;
    readonly code?: { readonly specifier: string };
    readonly type?: { readonly specifier: string };
  }[];
}

/** Every module `entry` imports statically (directly or not), npm and node modules included. */
async function staticGraph(entry: string): Promise<Set<string>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL(entry, ROOT).pathname],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: InfoModule[];
  };
  const modules = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>([info.roots[0]!]);
  const queue = [info.roots[0]!];
  while (queue.length > 0) {
    for (const d of modules.get(queue.shift()!)?.dependencies ?? []) {
      const to = d.code?.specifier;
      if (d.isDynamic === true || to === undefined || seen.has(to)) continue;
      seen.add(to);
      queue.push(to);
    }
  }
  return seen;
}

const HEAVY = [/^npm:\/?@peculiar\//, /^npm:\/?pkijs/, /^node:(https|tls)$/];

for (const entry of ["cli/main.ts", "cli/program.ts", "cli/commands/generate.ts"]) {
  Deno.test(`${entry} loads no X.509/ASN.1 package and no TLS module statically`, async () => {
    const graph = await staticGraph(entry);
    assert.ok(graph.size > 4, `${entry}: ${graph.size} modules (deno info read nothing?)`);
    const heavy = [...graph].filter((s) => HEAVY.some((h) => h.test(s)));
    assert.deepEqual(heavy, []);
  });
}

/**
 * `contrast evidence verify --platform tdx` and the command registry load no npm package:
 * importing any (even one ESM module of `@noble/hashes`) costs a Deno process ~5 ms of CPU for its
 * npm layer, about a sixth of what the command costs beyond an empty `deno run`. The TDX verifier
 * hashes through WebCrypto; `digestSync` (`@noble/hashes`) lives in `util/bytes/digest_sync.ts`,
 * outside `util/bytes/mod.ts`; the registry imports commander from `cli/vendor/commander.js`.
 */
for (
  const entry of [
    "cli/main.ts",
    "cli/program.ts",
    "cli/commands/evidence.ts",
    "cli/commands/evidence_tdx.ts",
  ]
) {
  Deno.test(`${entry} loads no npm package statically`, async () => {
    const graph = await staticGraph(entry);
    assert.ok(graph.size > 4, `${entry}: ${graph.size} modules (deno info read nothing?)`);
    assert.deepEqual([...graph].filter((s) => s.startsWith("npm:")), []);
  });
}

/**
 * The command registry (every `--help`) runs on the vendored commander (`cli/commander.ts`),
 * which imports neither `node:fs` nor `node:child_process`: loading them cost ~6 ms of CPU per
 * process (`contrast --help` 41 against 47 ms), for executable subcommands contrast has none of.
 */
Deno.test("cli/program.ts loads neither node:fs nor node:child_process statically", async () => {
  const graph = await staticGraph("cli/program.ts");
  assert.ok([...graph].some((s) => s.endsWith("/cli/vendor/commander.js")), "vendored commander");
  assert.deepEqual([...graph].filter((s) => /^node:(fs|child_process)$/.test(s)), []);
});

/** Modules only the image-resolving commands (`generate`, `policy check|explain`) use. */
const IMAGE_OPTIONS_ONLY = [
  /\/cli\/image_options\.ts$/,
  /\/deploy\/memory_quantity\.ts$/,
  /\/oci\/size_limits\.ts$/,
];

for (
  const entry of [
    "cli/program.ts",
    "cli/commands/evidence.ts",
    "cli/commands/evidence_snp.ts",
    "cli/commands/evidence_tdx.ts",
  ]
) {
  Deno.test(`${entry} loads none of the image size options statically`, async () => {
    const graph = await staticGraph(entry);
    assert.ok(graph.size > 4, `${entry}: ${graph.size} modules (deno info read nothing?)`);
    const imageOnly = [...graph].filter((s) => IMAGE_OPTIONS_ONLY.some((m) => m.test(s)));
    assert.deepEqual(imageOnly, []);
  });
}

Deno.test("cli/commands/generate.ts still loads the image size options", async () => {
  const graph = await staticGraph("cli/commands/generate.ts");
  for (const m of IMAGE_OPTIONS_ONLY) {
    assert.ok([...graph].some((s) => m.test(s)), `${m} not in generate's graph`);
  }
});
