/**
 * The RuntimeClass that generated pods name (`runtimeClassName: contrast-cc-…`), per platform: the
 * handler of the Kata/CoCo runtime that provides the platform's TEE on the nodes, the pod overhead
 * of its micro-VM and the node label that says the runtime is installed.
 *
 * Handlers and labels are the ones the usual installers set up (override them when yours differ):
 * kata-deploy and the Confidential Containers operator install `kata-qemu-snp` and
 * `kata-qemu-tdx` and label the nodes they configured `katacontainers.io/kata-runtime: "true"`;
 * AKS's confidential node pools (`--workload-runtime KataCcIsolation`) provide
 * `kata-cc-isolation`. Simulated platforms run without any TEE and have no handler.
 *
 * @module
 */
import { goYamlTags } from "../util/yaml/go_yaml_schema.ts";
import { refuseGoYamlBreaks } from "../util/yaml/kubectl_agreement.ts";
import { Document } from "yaml";
import { ParseError } from "../util/errors/mod.ts";
import type { PlatformName } from "../policy/reference_values.ts";

/** How a platform's pods run on the nodes. */
interface PlatformRuntime {
  /** The CRI runtime handler (containerd runtime name). */
  readonly handler: string;
  /** Resources the micro-VM costs on top of the containers (`overhead.podFixed`). */
  readonly podFixed: Readonly<Record<string, string>>;
  /** Labels of nodes that have the runtime (`scheduling.nodeSelector`). */
  readonly nodeSelector: Readonly<Record<string, string>>;
}

// Kata's own runtime classes declare this overhead for their QEMU micro-VMs.
const KATA_QEMU_OVERHEAD = { memory: "160Mi", cpu: "250m" } as const;
const KATA_NODE_LABEL = { "katacontainers.io/kata-runtime": "true" } as const;

/** The runtime of every platform that has one. */
export const PLATFORM_RUNTIMES: Readonly<Partial<Record<PlatformName, PlatformRuntime>>> = {
  "AKS-CLH-SNP": {
    handler: "kata-cc-isolation",
    podFixed: KATA_QEMU_OVERHEAD,
    nodeSelector: {},
  },
  "Metal-QEMU-SNP": {
    handler: "kata-qemu-snp",
    podFixed: KATA_QEMU_OVERHEAD,
    nodeSelector: KATA_NODE_LABEL,
  },
  "Metal-QEMU-TDX": {
    handler: "kata-qemu-tdx",
    podFixed: KATA_QEMU_OVERHEAD,
    nodeSelector: KATA_NODE_LABEL,
  },
};

/** Choices the user can make about the RuntimeClass. */
interface RuntimeClassOptions {
  /** The RuntimeClass name (the settings' `runtime_class_name`). */
  readonly name: string;
  /** The platform. */
  readonly platform: PlatformName;
  /** A handler other than the platform's default (required for platforms without one). */
  readonly handler?: string;
  /** Node labels replacing the platform's default `scheduling.nodeSelector`. */
  readonly nodeSelector?: Readonly<Record<string, string>>;
}

const HANDLER = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * The runtime of `options.platform`, with the user's handler and node selector applied.
 *
 * @throws {ParseError} naming `--platform` for a platform without a runtime handler (and none
 *   given), or `--handler` for a malformed one
 */
export function platformRuntime(options: RuntimeClassOptions): PlatformRuntime {
  const known = PLATFORM_RUNTIMES[options.platform];
  const handler = options.handler ?? known?.handler;
  if (handler === undefined) {
    const withHandler = Object.keys(PLATFORM_RUNTIMES).join(", ");
    throw new ParseError(
      "--platform",
      `${options.platform} has no runtime handler: it runs without a TEE (local simulation only); ` +
        `use one of ${withHandler}, or name your runtime with --handler`,
    );
  }
  if (!HANDLER.test(handler) || handler.length > 63) {
    throw new ParseError("--handler", `"${handler}" is not a DNS label (a-z, 0-9, -)`);
  }
  return {
    handler,
    podFixed: known?.podFixed ?? KATA_QEMU_OVERHEAD,
    nodeSelector: options.nodeSelector ?? known?.nodeSelector ?? {},
  };
}

/**
 * The RuntimeClass document (YAML text, one document).
 *
 * @throws {InvalidDocumentError} when a value would print a character kubectl reads as a line break
 */
export function runtimeClassYaml(options: RuntimeClassOptions): string {
  const runtime = platformRuntime(options);
  const doc = new Document({
    apiVersion: "node.k8s.io/v1",
    kind: "RuntimeClass",
    metadata: {
      name: options.name,
      labels: {
        "app.kubernetes.io/part-of": "contrast",
        "contrast.edgeless.systems/platform": options.platform,
      },
    },
    handler: runtime.handler,
    overhead: { podFixed: { ...runtime.podFixed } },
    ...(Object.keys(runtime.nodeSelector).length > 0
      ? { scheduling: { nodeSelector: { ...runtime.nodeSelector } } }
      : {}),
  }, { version: "1.1", customTags: goYamlTags });
  doc.commentBefore =
    ` RuntimeClass for contrast on ${options.platform} (handler ${runtime.handler}).`;
  const text = doc.toString({ lineWidth: 0 });
  refuseGoYamlBreaks("RuntimeClass YAML", text);
  return text;
}
