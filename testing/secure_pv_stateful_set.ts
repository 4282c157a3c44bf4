/**
 * Test helper: the StatefulSet YAML the secure-pv tests generate from: one container mounting an
 * emptyDir (the mount volume) that the `contrast.edgeless.systems/secure-pv` annotation backs with
 * an encrypted block device from a volume claim template (the device volume).
 *
 * @module
 */

/** What {@link securePvStatefulSet} varies; every field has the common tests' default. */
interface SecurePvStatefulSetOptions {
  /** The annotation's value, `<device volume>:<mount volume>`; default `data:state`. */
  readonly annotation?: string;
  /** The claim template's name as written in YAML (quote it yourself where needed); default `data`. */
  readonly deviceVolume?: string;
  /** The emptyDir's name as written in YAML; default `state`. */
  readonly mountVolume?: string;
  /** The claim template's `volumeMode`; default `Block`. */
  readonly volumeMode?: string;
  /** YAML lines added to the container (indented by 10 spaces, each ending in a newline). */
  readonly containerExtra?: string;
}

/**
 * The StatefulSet `db` in namespace `shop` with its container `db` (image
 * `127.0.0.1:5000/web:1.0`) mounting the mount volume at `/var/lib/db`. Volume names are written
 * as given (`{name: state, emptyDir: {}}`), so tests can edit the text by its lines.
 *
 * @example
 * ```ts
 * import { securePvStatefulSet } from "./secure_pv_stateful_set.ts";
 *
 * const yaml = securePvStatefulSet({ volumeMode: "Filesystem" });
 * console.log(yaml.includes("volumeMode: Filesystem")); // true
 * ```
 */
export function securePvStatefulSet(options: SecurePvStatefulSetOptions = {}): string {
  const device = options.deviceVolume ?? "data";
  const mount = options.mountVolume ?? "state";
  return `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata:
      labels: {app: db}
      annotations:
        contrast.edgeless.systems/secure-pv: ${JSON.stringify(options.annotation ?? "data:state")}
    spec:
      runtimeClassName: contrast-cc
      containers:
        - name: db
          image: "127.0.0.1:5000/web:1.0"
          volumeMounts:
            - {name: ${mount}, mountPath: /var/lib/db}
${options.containerExtra ?? ""}      volumes:
        - {name: ${mount}, emptyDir: {}}
  volumeClaimTemplates:
    - metadata: {name: ${device}}
      spec:
        accessModes: [ReadWriteOnce]
        volumeMode: ${options.volumeMode ?? "Block"}
        resources: {requests: {storage: 1Gi}}
`;
}
