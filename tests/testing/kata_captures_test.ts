/**
 * Kata's genpolicy captures (real agent requests, `../shared/conformance/kata-genpolicy`) against
 * the policies generate builds for their YAML: every disagreement is explained in
 * `testing/kata_captures/differences.json`, and no explanation is stale. Skipped, saying why, when
 * the captures are absent. (`scripts/kata_conformance.ts` prints the agreement figures in CI.)
 */
import assert from "node:assert/strict";
import { loadDefaultSettings } from "../../policy/settings.ts";
import { CompiledRules } from "../../rego/evaluator.ts";
import {
  agreement,
  CaptureImageResolver,
  CAPTURES_DIR,
  capturesAvailable,
  loadCaptureCases,
  loadDifferences,
  policyDataForCase,
  replayCase,
  runConformance,
} from "../../testing/kata_captures/captures.ts";
import { type RuntimeProfile, settingsForRuntime } from "../../policy/runtime_profiles.ts";

const available = capturesAvailable();
if (!available) {
  console.warn(`skipping Kata capture tests: ${CAPTURES_DIR.pathname} not found`);
}

Deno.test({
  name: "Kata captures: every disagreement with the recorded verdicts is explained, none stale",
  ignore: !available,
  fn: async () => {
    const report = await runConformance(
      await loadCaptureCases(),
      await CompiledRules.load(),
      await Deno.readTextFile(new URL("../../rego/rules.rego", import.meta.url)),
      await loadDefaultSettings(),
      await CaptureImageResolver.load(),
      await loadDifferences(),
    );
    assert.deepEqual(
      report.unexplained.map((o) => `${o.case}: ${o.description}`),
      [],
      "unexplained disagreements",
    );
    assert.deepEqual(report.stale.map((d) => `${d.case}: ${d.description}`), [], "stale entries");
    const a = agreement(report);
    assert.ok(a.requests >= 100, `only ${a.requests} captured requests replayed`);
    // Every explained difference carries a reason, and a stricter one names its attack.
    for (const e of report.explained) {
      assert.ok(e.why.reason.length > 20, `${e.case}: ${e.description}: no reason`);
      if (e.why.category === "stricter") assert.ok(e.why.attack, `${e.case}: no attack named`);
    }
  },
});

Deno.test({
  name: "Kata captures: the fixed findings agree with the recorded verdicts",
  ignore: !available,
  fn: async () => {
    const report = await runConformance(
      await loadCaptureCases(),
      await CompiledRules.load(),
      await Deno.readTextFile(new URL("../../rego/rules.rego", import.meta.url)),
      await loadDefaultSettings(),
      await CaptureImageResolver.load(),
      [],
    );
    const verdictOf = (c: string, d: string) =>
      report.outcomes.find((o) => o.case === c && o.description === d);
    for (
      const [c, d] of [
        [
          "state/execprocessdeployment",
          "test exec process in deployment's container with correct args",
        ],
        ["createcontainer/sysctls", "sysctls listed in yaml or settings"],
        ["createcontainer/ignored_fields", "ignore some of the input YAML fields"],
        ["updateinterface", "allowed arp flag"],
        ["updateinterface", "forbidden flag"],
        ["updateinterface", "forbidden hwAddr"],
        ["updateroutes", "noncompliant routes ipv6 2"],
        ["addarpneighbors", "bad state"],
        ["addarpneighbors", "bad flags"],
        ["copyfile", "unsupported file type"],
        ["copyfile", "symlink in top-level shared directory"],
      ]
    ) {
      const o = verdictOf(c!, d!);
      assert.ok(o, `${c}: ${d} not replayed`);
      assert.equal(o.actual, o.expected, `${c}: ${d}`);
    }
  },
});

Deno.test({
  name: "Kata captures: containerd 1.7's pause container is admitted with --runtime containerd-1.7",
  ignore: !available,
  fn: async () => {
    // Two hand edits of the trimmed capture, both outside what the profile decides: the YAML gets
    // the namespace the sandbox ran in (kata-containers-k8s-tests; the YAML names none), and the
    // request its container_id (trimmed to null upstream; for the pause container it is the
    // sandbox ID, as its root path and annotations show).
    const c = (await loadCaptureCases()).find((x) =>
      x.name === "createcontainer/security_context/runas"
    )!;
    const [[file, text]] = c.yaml as [[string, string]];
    const namespaced = {
      ...c,
      yaml: [[
        file,
        text.replace("metadata:\n", "metadata:\n  namespace: kata-containers-k8s-tests\n"),
      ]] as const,
      requests: c.requests.slice(0, 1).map((r) => {
        const request = structuredClone(r.request) as {
          container_id: unknown;
          OCI: { Annotations: Record<string, string> };
        };
        request.container_id = request.OCI.Annotations["io.kubernetes.cri.sandbox-id"];
        return { ...r, request };
      }),
    };
    const rules = await CompiledRules.load();
    const rulesText = await Deno.readTextFile(new URL("../../rego/rules.rego", import.meta.url));
    const resolver = await CaptureImageResolver.load();
    const verdict = async (profile: RuntimeProfile) => {
      const settings = settingsForRuntime(await loadDefaultSettings(), profile);
      const pd = await policyDataForCase(namespaced, settings, resolver, rulesText);
      return (await replayCase(namespaced, rules, pd))[0]!.actual;
    };
    assert.equal(await verdict("containerd-1.7-guest-pull"), true);
    assert.equal(await verdict("containerd-2-guest-pull"), false, "containerd 2 sends a storage");
  },
});
