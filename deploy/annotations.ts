/**
 * The pod and resource annotations contrast reads (Contrast's names, so existing deployments
 * keep working).
 *
 * @module
 */

/** `coordinator` marks the Coordinator's pod (Role in the manifest, no initializer). */
export const POD_ROLE_ANNOTATION = "contrast.edgeless.systems/pod-role";
/** `"true"` skips the initializer for this workload. */
export const SKIP_INITIALIZER_ANNOTATION = "contrast.edgeless.systems/skip-initializer";
/** Overrides the default workload secret ID. */
export const WORKLOAD_SECRET_ID_ANNOTATION = "contrast.edgeless.systems/workload-secret-id";
/**
 * More SANs for the workload's manifest entry, comma-separated (DNS names, IP addresses, URIs), on
 * top of the names generate derives from the input (`deploy/workload_sans.ts`); `*` is allowed,
 * with a warning. contrast's own.
 */
export const EXTRA_SANS_ANNOTATION = "contrast.edgeless.systems/extra-sans";
/** Service-mesh ingress configuration (→ `EDG_INGRESS_PROXY_CONFIG`). */
export const MESH_INGRESS_ANNOTATION = "contrast.edgeless.systems/servicemesh-ingress";
/** Service-mesh egress configuration (→ `EDG_EGRESS_PROXY_CONFIG`). */
export const MESH_EGRESS_ANNOTATION = "contrast.edgeless.systems/servicemesh-egress";
/** Envoy admin interface port (→ `EDG_ADMIN_PORT`). */
export const MESH_ADMIN_ANNOTATION = "contrast.edgeless.systems/servicemesh-admin-interface-port";
/**
 * The sidecar's connection caps, idle timeout and admin access (→ `CONTRAST_MESH_LIMITS`;
 * contrast's own, see `protocol/mesh_config.ts` `parseMeshLimits`).
 */
export const MESH_LIMITS_ANNOTATION = "contrast.edgeless.systems/servicemesh-limits";
/**
 * The injected sidecar's memory limit, a Kubernetes quantity (`256Mi`) written into its
 * `resources.limits.memory`: the kubelet enforces it and hands it to the proxy
 * (`CONTRAST_MESH_MEMORY_LIMIT`), which bounds its connections by it. Adds no sidecar by itself.
 */
export const MESH_MEMORY_LIMIT_ANNOTATION = "contrast.edgeless.systems/servicemesh-memory-limit";
/** The injected sidecar's memory request (`resources.requests.memory`), at most the limit. */
export const MESH_MEMORY_REQUEST_ANNOTATION =
  "contrast.edgeless.systems/servicemesh-memory-request";

/** Name of the injected initializer container. */
export const INITIALIZER_NAME = "contrast-initializer";
/** Name of the injected service-mesh sidecar. */
export const MESH_SIDECAR_NAME = "contrast-service-mesh";
/**
 * `"<device-volume>:<mount-volume>"`: open the raw block volume `<device-volume>` as an encrypted
 * LUKS2 filesystem and expose it through the emptyDir volume `<mount-volume>`.
 */
export const SECURE_PV_ANNOTATION = "contrast.edgeless.systems/secure-pv";
/** Name of the injected container that opens the encrypted volume. */
export const SECURE_PV_NAME = "contrast-secure-pv";
/**
 * Where the block device appears in the secure-pv container. It must be below `/dev`: the Kata
 * agent refuses to create a container device anywhere else ("not a valid device path"). Deno, in
 * turn, lets a narrowed `--allow-read` open nothing there, so only the volume step's programs
 * read the device (`cmp`, `cryptsetup`).
 */
export const SECURE_PV_DEVICE_PATH = "/dev/csi0";
/** Where the secure-pv container mounts the opened filesystem (propagated to the pod). */
export const SECURE_PV_MOUNT_PATH = "/state";
