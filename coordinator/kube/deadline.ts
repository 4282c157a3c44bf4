/**
 * A deadline for one call of the Kubernetes client: the API server is the infrastructure's, and
 * a request it never answers (or a connection that silently stops carrying data) would otherwise
 * hold the caller forever; client-node sets no timeout of its own.
 *
 * @module
 */
import * as k8s from "@kubernetes/client-node";

/** How long one API call may take by default (as long as a read of the stored latest). */
export const DEFAULT_API_TIMEOUT_MS = 5000;

/**
 * Per-call options of a client-node API method that abort the request (and the reading of its
 * answer) after `timeoutMs`; the call then rejects. The client's own middleware (authentication)
 * stays: this one is appended.
 */
export function deadlineOptions(timeoutMs: number): k8s.ConfigurationOptions {
  const middleware: k8s.ObservableMiddleware = {
    pre: (context) => {
      context.setSignal(AbortSignal.timeout(timeoutMs));
      return new k8s.Observable(Promise.resolve(context));
    },
    post: (context) => new k8s.Observable(Promise.resolve(context)),
  };
  return {
    middleware: [middleware],
    middlewareMergeStrategy: "append",
  };
}
