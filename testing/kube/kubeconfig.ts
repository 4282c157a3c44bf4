/**
 * Kubeconfig files for a local API server: one cluster (server URL + CA), one token user.
 *
 * @module
 */
import { stringify } from "yaml";
import { encodeBase64 } from "../../util/bytes/mod.ts";

/** What a token kubeconfig names. */
interface TokenKubeconfig {
  /** `https://127.0.0.1:PORT`. */
  readonly server: string;
  /** PEM of the CA that signed the serving certificate. */
  readonly caPem: string;
  /** Bearer token. */
  readonly token: string;
  /** User (and context) name. */
  readonly user: string;
  /** Default namespace of the context. */
  readonly namespace?: string;
}

/** The kubeconfig YAML for `config`. */
export function renderKubeconfig(config: TokenKubeconfig): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{
      name: "contrast-test",
      cluster: {
        server: config.server,
        "certificate-authority-data": encodeBase64(new TextEncoder().encode(config.caPem)),
      },
    }],
    users: [{ name: config.user, user: { token: config.token } }],
    contexts: [{
      name: config.user,
      context: {
        cluster: "contrast-test",
        user: config.user,
        ...(config.namespace ? { namespace: config.namespace } : {}),
      },
    }],
    "current-context": config.user,
    preferences: {},
  });
}
