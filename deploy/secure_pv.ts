/**
 * Encrypted persistent volumes: the `contrast.edgeless.systems/secure-pv` annotation
 * (`"<device-volume>:<mount-volume>"`, Contrast's syntax).
 *
 * `<device-volume>` is a raw block volume of the pod (a `persistentVolumeClaim` or `ephemeral`
 * volume, or a StatefulSet `volumeClaimTemplate`, with `volumeMode: Block`); `<mount-volume>` is
 * an `emptyDir` volume. `contrast generate` adds, right after the initializer, the init
 * container `contrast-secure-pv` (the initializer image running `initializer volume` with the
 * Deno permissions of {@link SECURE_PV_COMMAND}: the image's own entry point cannot run any
 * program): it gets the device at `/dev/csi0` (`volumeDevices`), is privileged and runs as root
 * (device-mapper and mount need CAP_SYS_ADMIN, which Kubernetes gives a privileged container's
 * process only when it runs as root, and the image's user is 65532), and mounts `<mount-volume>` at `/state` with `mountPropagation: Bidirectional`; it formats the
 * device as LUKS2 on first use with a key derived from the pod's workload secret, opens it and
 * mounts the filesystem there. Every workload container that mounts `<mount-volume>` gets
 * `mountPropagation: HostToContainer`, so it sees the opened filesystem. The pod's policy allows
 * exactly these devices and propagations (policy/policy_data.ts).
 *
 * @module
 */
import { type Document, isMap, isSeq, type YAMLMap } from "yaml";
import { ensureSeq, expandedSeq } from "./yaml_nodes.ts";
import type { FieldIssue } from "../util/errors/mod.ts";
import {
  INITIALIZER_NAME,
  SECURE_PV_ANNOTATION,
  SECURE_PV_DEVICE_PATH,
  SECURE_PV_MOUNT_PATH,
  SECURE_PV_NAME,
} from "./annotations.ts";

/**
 * The programs of the volume step in the initializer image, by absolute path (the pinned
 * `secure-pv` set of `scripts/images/pins.json`, where Debian's packages install them):
 * `cmp` checks that a new device's first MiB is zeros, `cryptsetup` formats, checks and opens the
 * volume, `blkid` finds whether the opened volume has a
 * filesystem, `mke2fs` makes one on first use, `mount` mounts it.
 */
export const IMAGE_VOLUME_PROGRAMS = {
  cryptsetup: "/sbin/cryptsetup",
  cmp: "/usr/bin/cmp",
  blkid: "/sbin/blkid",
  mke2fs: "/sbin/mke2fs",
  mount: "/bin/mount",
} as const;

/** The workload secret's folder (the pod's `contrast-secrets` volume is at `/contrast`). */
const SECRETS_PATH = "/contrast/secrets";

/**
 * The command of the `contrast-secure-pv` container: the initializer image's Deno runtime and
 * bundle (as its entry point, `scripts/images/image_spec.ts`) with the volume step's permissions:
 * read of the workload secret's folder, write of that folder (the private header copy) and of the
 * mount point, and running exactly the five programs of
 * {@link IMAGE_VOLUME_PROGRAMS}, by absolute path. The image's entry point, which every
 * initializer container runs, keeps its narrower permissions (no program at all).
 */
export const SECURE_PV_COMMAND: readonly string[] = [
  "/usr/bin/deno",
  "run",
  "--no-code-cache",
  "--allow-env",
  `--allow-read=${SECRETS_PATH}`,
  `--allow-write=${SECRETS_PATH},${SECURE_PV_MOUNT_PATH}`,
  `--allow-run=${Object.values(IMAGE_VOLUME_PROGRAMS).join(",")}`,
  "/app/initializer.js",
];

/** The parsed annotation. */
export interface SecurePv {
  /** The raw block volume. */
  readonly device: string;
  /** The emptyDir volume the filesystem is exposed through. */
  readonly mount: string;
}

const VOLUME_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * Parses the annotation value.
 *
 * @returns the volumes, or the reason the value is malformed
 */
export function parseSecurePv(value: unknown): SecurePv | { readonly error: string } {
  if (typeof value !== "string") return { error: "must be a string" };
  const parts = value.split(":");
  if (parts.length !== 2 || !parts.every((p) => VOLUME_NAME.test(p))) {
    return { error: `expected "<device-volume>:<mount-volume>", got ${JSON.stringify(value)}` };
  }
  if (parts[0] === parts[1]) return { error: "the two volumes must differ" };
  return { device: parts[0]!, mount: parts[1]! };
}

type Plain = Record<string, unknown>;

function plainList(value: unknown): Plain[] {
  return Array.isArray(value) ? value.filter((v) => v && typeof v === "object") as Plain[] : [];
}

/**
 * Checks the pod against the annotation: both volumes exist with the right kinds, the device
 * volume is not also mounted as a filesystem, the mount volume is mounted whole (a subPath mount
 * would be a host share), and the pod has an initializer (it needs the workload secret).
 *
 * @param spec the pod spec as plain JSON
 * @param claimTemplates StatefulSet volumeClaimTemplates as plain JSON
 * @param at prefix of issue paths (`file: doc[0] spec.template.spec`)
 */
export function checkSecurePv(
  pv: SecurePv,
  spec: Plain,
  claimTemplates: readonly Plain[],
  hasInitializer: boolean,
  at: string,
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const volumes = plainList(spec.volumes);
  const device = volumes.find((v) => v.name === pv.device);
  const template = claimTemplates.find((t) =>
    (t.metadata as Plain | undefined)?.name === pv.device
  );
  if (template) {
    const mode = (template.spec as Plain | undefined)?.volumeMode;
    if (mode !== "Block") {
      issues.push({
        path: `${at}: volumeClaimTemplates[${pv.device}].spec.volumeMode`,
        reason: `must be "Block" for ${SECURE_PV_ANNOTATION} (got ${JSON.stringify(mode)})`,
      });
    }
  } else if (!device) {
    issues.push({ path: `${at}.volumes`, reason: `no volume "${pv.device}" (the device volume)` });
  } else if (device.persistentVolumeClaim === undefined && device.ephemeral === undefined) {
    issues.push({
      path: `${at}.volumes[${pv.device}]`,
      reason: "the device volume must be a persistentVolumeClaim or ephemeral volume " +
        "(volumeMode: Block)",
    });
  } else if (device.ephemeral !== undefined) {
    const mode = ((device.ephemeral as Plain).volumeClaimTemplate as Plain | undefined)?.spec;
    if ((mode as Plain | undefined)?.volumeMode !== "Block") {
      issues.push({
        path: `${at}.volumes[${pv.device}].ephemeral.volumeClaimTemplate.spec.volumeMode`,
        reason: `must be "Block" for ${SECURE_PV_ANNOTATION}`,
      });
    }
  }
  const mount = volumes.find((v) => v.name === pv.mount);
  if (!mount) {
    issues.push({ path: `${at}.volumes`, reason: `no volume "${pv.mount}" (the mount volume)` });
  } else if (mount.emptyDir === undefined) {
    issues.push({
      path: `${at}.volumes[${pv.mount}]`,
      reason: "the mount volume must be an emptyDir",
    });
  }
  for (const key of ["initContainers", "containers"]) {
    plainList(spec[key]).forEach((c, i) => {
      if (c.name === SECURE_PV_NAME) return;
      plainList(c.volumeMounts).forEach((m, k) => {
        if (m.name === pv.device) {
          issues.push({
            path: `${at}.${key}[${i}].volumeMounts[${k}]`,
            reason: `"${pv.device}" is the encrypted device: mount "${pv.mount}" instead`,
          });
        }
        const sub = (["subPath", "subPathExpr"] as const).find((f) =>
          typeof m[f] === "string" && m[f] !== ""
        );
        if (m.name === pv.mount && sub !== undefined) {
          issues.push({
            path: `${at}.${key}[${i}].volumeMounts[${k}].${sub}`,
            reason: `container "${String(c.name ?? "")}" mounts "${pv.mount}" (the encrypted ` +
              `volume's mount volume) with ${sub}: Kata shares kubelet's subPath mount from the ` +
              "host, so the data would land in host storage and the encrypted device would stay " +
              "unused; mount the whole volume (no subPath/subPathExpr)",
          });
        }
      });
      plainList(c.volumeDevices).forEach((_, k) => {
        issues.push({
          path: `${at}.${key}[${i}].volumeDevices[${k}]`,
          reason: "raw devices are not supported in a confidential pod (use secure-pv)",
        });
      });
    });
  }
  if (!hasInitializer) {
    issues.push({
      path: `${at}`,
      reason: `${SECURE_PV_ANNOTATION} needs the initializer (the key comes from the workload ` +
        "secret): remove skip-initializer",
    });
  }
  return issues;
}

function byName(seq: { items: unknown[] }, name: string): YAMLMap | undefined {
  return seq.items.find((i) => isMap(i) && i.get("name") === name) as YAMLMap | undefined;
}

/**
 * Adds (or refreshes) the `contrast-secure-pv` init container right after the initializer and
 * sets `mountPropagation: HostToContainer` on every other mount of the mount volume.
 */
export function injectSecurePv(
  doc: Document,
  spec: YAMLMap,
  pv: SecurePv,
  initializerImage: string,
): void {
  const init = ensureSeq(doc, spec, "initContainers");
  const existing = init.items.findIndex((i) => isMap(i) && i.get("name") === SECURE_PV_NAME);
  if (existing >= 0) init.items.splice(existing, 1);
  const container = doc.createNode({
    name: SECURE_PV_NAME,
    image: initializerImage,
    command: [...SECURE_PV_COMMAND],
    args: [
      "volume",
      "--cryptsetup",
      IMAGE_VOLUME_PROGRAMS.cryptsetup,
      "--cmp",
      IMAGE_VOLUME_PROGRAMS.cmp,
      "--blkid",
      IMAGE_VOLUME_PROGRAMS.blkid,
      "--mke2fs",
      IMAGE_VOLUME_PROGRAMS.mke2fs,
      "--mount-program",
      IMAGE_VOLUME_PROGRAMS.mount,
      "--device",
      SECURE_PV_DEVICE_PATH,
      "--volume",
      pv.device,
      "--mount",
      SECURE_PV_MOUNT_PATH,
    ],
    securityContext: { privileged: true, runAsUser: 0, runAsGroup: 0 },
    volumeDevices: [{ name: pv.device, devicePath: SECURE_PV_DEVICE_PATH }],
    volumeMounts: [{
      name: pv.mount,
      mountPath: SECURE_PV_MOUNT_PATH,
      mountPropagation: "Bidirectional",
    }],
  });
  const initializer = byName(init, INITIALIZER_NAME);
  init.items.splice(initializer ? init.items.indexOf(initializer) + 1 : 0, 0, container);
  for (const key of ["initContainers", "containers"]) {
    const seq = spec.get(key, true);
    if (!isSeq(seq)) continue;
    for (const c of seq.items) {
      if (!isMap(c) || c.get("name") === SECURE_PV_NAME) continue;
      // Aliased mounts expanded: `- *m` would otherwise keep no propagation (the container sees
      // the bare emptyDir, not the encrypted volume), or the edit would change the anchor's owner.
      const mounts = expandedSeq(doc, c, "volumeMounts");
      if (mounts === undefined) continue;
      for (const m of mounts.items) {
        if (isMap(m) && m.get("name") === pv.mount) m.set("mountPropagation", "HostToContainer");
      }
    }
  }
}
