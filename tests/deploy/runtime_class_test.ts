import assert from "node:assert/strict";
import { parse } from "yaml";
import { InvalidDocumentError, ParseError } from "../../util/errors/mod.ts";
import { PLATFORM_RUNTIMES, runtimeClassYaml } from "../../deploy/runtime_class.ts";
import { PLATFORMS } from "../../policy/reference_values.ts";
import { RuntimeClass } from "kubernetes-models/node.k8s.io/v1/RuntimeClass";

Deno.test("every real platform's RuntimeClass names its handler, overhead and node label", () => {
  const handlers: Record<string, string> = {};
  for (const platform of PLATFORMS.filter((p) => PLATFORM_RUNTIMES[p] !== undefined)) {
    const doc = parse(runtimeClassYaml({ name: "contrast-cc-0-1-0", platform }), {
      version: "1.1",
    });
    new RuntimeClass(doc).validate();
    assert.equal(doc.metadata.name, "contrast-cc-0-1-0");
    assert.deepEqual(doc.overhead.podFixed, { memory: "160Mi", cpu: "250m" });
    handlers[platform] = doc.handler;
  }
  assert.deepEqual(handlers, {
    "AKS-CLH-SNP": "kata-cc-isolation",
    "Metal-QEMU-SNP": "kata-qemu-snp",
    "Metal-QEMU-TDX": "kata-qemu-tdx",
  });
});

Deno.test("handler and node selector can be replaced", () => {
  const doc = parse(
    runtimeClassYaml({
      name: "contrast-cc-0-1-0",
      platform: "Metal-QEMU-SNP",
      handler: "kata-qemu-snp-custom",
      nodeSelector: { "example.com/snp": "yes" },
    }),
    { version: "1.1" },
  );
  assert.equal(doc.handler, "kata-qemu-snp-custom");
  assert.deepEqual(doc.scheduling.nodeSelector, { "example.com/snp": "yes" });
});

Deno.test("a simulated platform has no runtime handler: a clear error naming --platform", () => {
  for (const platform of ["Simulated-SNP", "Simulated-TDX"] as const) {
    assert.throws(
      () => runtimeClassYaml({ name: "contrast-cc-0-1-0", platform }),
      (e) =>
        e instanceof ParseError && e.field === "--platform" &&
        e.message.includes(`${platform} has no runtime handler`),
    );
  }
  assert.equal(
    parse(runtimeClassYaml({ name: "c", platform: "Simulated-SNP", handler: "runc" }), {
      version: "1.1",
    }).handler,
    "runc",
  );
  assert.throws(
    () => runtimeClassYaml({ name: "c", platform: "Metal-QEMU-SNP", handler: "Bad_Handler" }),
    (e) => e instanceof ParseError && e.field === "--handler",
  );
});

Deno.test("runtime class: a value go-yaml reads as a number (0o17) is printed quoted", () => {
  const text = runtimeClassYaml({ name: "c", platform: "Simulated-SNP", handler: "0o17" });
  assert.match(text, /^handler: "0o17"$/m);
  assert.throws(
    () =>
      runtimeClassYaml({
        name: "c",
        platform: "Simulated-SNP",
        nodeSelector: { pool: "a\u2029b" },
      }),
    (e) => e instanceof ParseError || e instanceof InvalidDocumentError,
  );
});
