/**
 * The check `contrast generate` makes before it trusts the input's Coordinator: the workload
 * annotated `contrast.edgeless.systems/pod-role: coordinator` becomes the manifest's Coordinator
 * policy, which every initializer pins (`CONTRAST_COORDINATOR_TRUST`), so it must run contrast's
 * Coordinator exactly as `contrast coordinator` writes it ({@link coordinatorPodSpec}), with the
 * Coordinator image of the image lock in use.
 *
 * What may differ from that builder's output (decided here, documented in the README):
 *
 * - the workload's metadata (name, namespace, labels, other annotations than contrast's) and its
 *   StatefulSet fields outside the pod spec (replicas, volume claim size, selector, ...);
 * - `runtimeClassName` (generate checks it and writes the versioned one);
 * - scheduling fields of the pod ({@link SCHEDULING_FIELDS}): where the pod runs, not what runs
 *   in it;
 * - the container's `resources` and `imagePullPolicy`.
 *
 * Everything else of the pod spec (another container, init or ephemeral container, command, args,
 * env, envFrom, mounts, volumes, probes, securityContext, service account, host namespaces ...)
 * must be the builder's, and the workload must be a StatefulSet carrying no contrast annotation
 * but the role (a mesh or secure-pv annotation would add containers to the pod).
 *
 * And the policy must bind the Coordinator's files to its image digest: only a guest-pull storage
 * does (the guest pulls the pinned `name@sha256:…` and checks it). With host pull (`--runtime
 * …-host-pull`, or settings without that storage) the node unpacks the image and shares the root
 * filesystem into the guest unchecked, so the host could run a program of its own under the
 * genuine policy and HOST_DATA, which `set`, `verify` and every initializer would accept, and
 * which would hold the seed and every workload secret: refused ({@link bindsImageDigest}).
 *
 * @module
 */
import { isDeepStrictEqual } from "node:util";
import type { FieldIssue } from "../util/errors/mod.ts";
import { POD_ROLE_ANNOTATION } from "./annotations.ts";
import { coordinatorPodSpec } from "./coordinator_yaml.ts";
import type { Settings } from "../policy/settings.ts";

/** Pod spec fields that only place the pod (a user may set them). */
const SCHEDULING_FIELDS: ReadonlySet<string> = new Set([
  "affinity",
  "imagePullSecrets",
  "nodeSelector",
  "priorityClassName",
  "terminationGracePeriodSeconds",
  "tolerations",
  "topologySpreadConstraints",
]);

/** Container fields a user may set on the Coordinator container. */
const USER_CONTAINER_FIELDS: ReadonlySet<string> = new Set(["resources", "imagePullPolicy"]);

/** Prefix of contrast's annotations. */
const CONTRAST_ANNOTATION_PREFIX = "contrast.edgeless.systems/";

/** The input's Coordinator workload, as plain values. */
interface CoordinatorWorkload {
  /** `file[doc]`, the prefix of every issue path. */
  readonly location: string;
  /** The workload's kind (`StatefulSet` for contrast's). */
  readonly kind: string;
  /** The path of the pod spec in the document (`spec.template.spec`). */
  readonly specPath: string;
  /** The pod spec as plain JSON values. */
  readonly spec: Record<string, unknown>;
  /** `spec.replicas` of the workload (undefined: 1). */
  readonly replicas: unknown;
  /** Resource and pod-template annotations merged. */
  readonly annotations: Readonly<Record<string, unknown>>;
}

const EXPECTED = "must be as `contrast coordinator` writes it (generate pins this pod's policy " +
  "as the Coordinator in every initializer)";

/**
 * Whether policies built with `settings` bind a container's root filesystem to its pinned image:
 * every container must come with the guest-pull storage of exactly its pinned reference
 * (`source_regex` `^$(image)$`), which the guest pulls and checks by digest, mounted where the
 * container's root is (`mount_point_regex` = `root_path_regex`).
 */
function bindsImageDigest(settings: Pick<Settings, "container">): boolean {
  return settings.container.image_storages.some((s) =>
    s.driver === "image_guest_pull" && s.source_regex === "^$(image)$" &&
    s.mount_point_regex === settings.container.root_path_regex
  );
}

/**
 * Every way the workload differs from contrast's Coordinator as `contrast coordinator` writes it
 * with `coordinatorImage` (the image lock's; undefined when no lock names it), to run with policies
 * built from `settings`. Empty when it is that Coordinator.
 */
export function coordinatorPodIssues(
  w: CoordinatorWorkload,
  coordinatorImage: string | undefined,
  settings: Pick<Settings, "container">,
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const at = (field: string) => `${w.location}: ${w.specPath}.${field}`;
  if (!bindsImageDigest(settings)) {
    issues.push({
      path: at("containers[0].image"),
      reason: "the Coordinator's image must be pulled in the guest, where its digest is " +
        "checked: with host pull (or settings without the image_guest_pull storage) the host " +
        "chooses the files of its root filesystem, so it could run its own program under the " +
        "Coordinator's genuine policy, which set, verify and every initializer would accept, " +
        "and it would hold the seed and every workload secret; generate with a guest-pull " +
        "runtime (--runtime containerd-2-guest-pull or containerd-1.7-guest-pull)",
    });
  }
  if (w.kind !== "StatefulSet") {
    issues.push({
      path: `${w.location}: kind`,
      reason: `the Coordinator must be the StatefulSet \`contrast coordinator\` writes, got ${
        JSON.stringify(w.kind)
      }`,
    });
  }
  for (const key of Object.keys(w.annotations)) {
    if (key.startsWith(CONTRAST_ANNOTATION_PREFIX) && key !== POD_ROLE_ANNOTATION) {
      issues.push({
        path: `${w.location}: metadata.annotations[${JSON.stringify(key)}]`,
        reason: "the Coordinator carries no contrast annotation but its role " +
          "(`contrast coordinator` writes none)",
      });
    }
  }
  const replicas = w.replicas ?? 1;
  if (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 1) {
    issues.push({
      path: `${w.location}: spec.replicas`,
      reason: `the Coordinator needs a positive replica count, got ${JSON.stringify(replicas)}`,
    });
    return issues;
  }
  if (coordinatorImage === undefined) {
    issues.push({
      path: at("containers[0].image"),
      reason: "contrast's coordinator image comes from the image lock, and no lock names it: " +
        "pass --image-lock FILE (written by `deno task images`), set CONTRAST_IMAGE_LOCK or use " +
        "a release build of contrast",
    });
    return issues;
  }
  const expected = coordinatorPodSpec({
    image: coordinatorImage,
    runtimeClassName: String(w.spec.runtimeClassName ?? ""),
    replicas,
  });
  issues.push(...podFieldIssues(w.spec, expected, at));
  return issues;
}

/** The pod spec's differences from `expected`, outside the fields a user may set. */
function podFieldIssues(
  actual: Record<string, unknown>,
  expected: Record<string, unknown>,
  at: (field: string) => string,
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const key of unionKeys(actual, expected)) {
    if (key === "runtimeClassName" || SCHEDULING_FIELDS.has(key)) continue;
    if (key === "containers") {
      issues.push(...containersIssues(actual.containers, expected.containers, at));
    } else if (!isDeepStrictEqual(actual[key], expected[key])) {
      issues.push({ path: at(key), reason: `${EXPECTED}: ${describe(key, expected[key])}` });
    }
  }
  return issues;
}

function containersIssues(
  actual: unknown,
  expected: unknown,
  at: (field: string) => string,
): FieldIssue[] {
  const want = (expected as Record<string, unknown>[])[0]!;
  if (!Array.isArray(actual) || actual.length !== 1) {
    return [{
      path: at("containers"),
      reason: `${EXPECTED}: exactly one container, the Coordinator, got ${
        Array.isArray(actual) ? actual.length : "none"
      }`,
    }];
  }
  const got = actual[0] as Record<string, unknown>;
  const issues: FieldIssue[] = [];
  for (const key of unionKeys(got, want)) {
    if (USER_CONTAINER_FIELDS.has(key) || isDeepStrictEqual(got[key], want[key])) continue;
    issues.push({
      path: at(`containers[0].${key}`),
      reason: key === "image"
        ? `must be contrast's Coordinator image from the image lock in use, ${want.image}, ` +
          `got ${JSON.stringify(got.image)}`
        : `${EXPECTED}: ${describe(key, want[key])}`,
    });
  }
  return issues;
}

function describe(key: string, value: unknown): string {
  return value === undefined ? `no ${key}` : `${key} ${JSON.stringify(value)}`;
}

function unionKeys(a: unknown, b: unknown): string[] {
  const keys = new Set<string>();
  for (const o of [a, b]) {
    if (o !== null && typeof o === "object") { for (const k of Object.keys(o)) keys.add(k); }
  }
  return [...keys].sort();
}
