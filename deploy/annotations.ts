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
/** Service-mesh ingress configuration (→ `EDG_INGRESS_PROXY_CONFIG`). */
export const MESH_INGRESS_ANNOTATION = "contrast.edgeless.systems/servicemesh-ingress";
/** Service-mesh egress configuration (→ `EDG_EGRESS_PROXY_CONFIG`). */
export const MESH_EGRESS_ANNOTATION = "contrast.edgeless.systems/servicemesh-egress";
/** Envoy admin interface port (→ `EDG_ADMIN_PORT`). */
export const MESH_ADMIN_ANNOTATION = "contrast.edgeless.systems/servicemesh-admin-interface-port";

/** Name of the injected initializer container. */
export const INITIALIZER_NAME = "contrast-initializer";
/** Name of the injected service-mesh sidecar. */
export const MESH_SIDECAR_NAME = "contrast-service-mesh";
