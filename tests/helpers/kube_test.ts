/**
 * Tests against a local Kubernetes control plane (`testing/kube/`): reported as ignored, not
 * passed, where its binaries are not installed.
 *
 * @module
 */
import { kubeToolsMissing } from "../../testing/kube/tools.ts";

/**
 * Registers the test `name`: ignored (with a loud line naming what is missing) where the
 * control-plane binaries are not installed; sanitizers off (the cluster's processes and sockets
 * outlive the test's view of them).
 */
export function kubeTest(name: string, fn: () => Promise<void>): void {
  Deno.test({
    name,
    ignore: kubeToolsMissing(name),
    sanitizeResources: false,
    sanitizeOps: false,
    fn,
  });
}
