/**
 * A {@link HistoryBackend} on the Kubernetes API: every record is a ConfigMap in the
 * Coordinator's namespace, so several Coordinator replicas share one history with etcd (behind
 * the API server) as the consistent store.
 *
 * Layout (`<h>` = the history name, default `contrast-history`):
 *
 * | record                  | ConfigMap name               | immutable | `binaryData` |
 * | ----------------------- | ---------------------------- | --------- | ------------ |
 * | `manifests/<sha256>`    | `<h>-manifests-<sha256>`     | yes       | `content`    |
 * | `policies/<sha256>`     | `<h>-policies-<sha256>`      | yes       | `content`    |
 * | `transitions/<sha256>`  | `<h>-transitions-<sha256>`   | yes       | `content`    |
 * | `transitions/latest`    | `<h>-latest`                 | no        | `content`    |
 *
 * Labels on every one: `app.kubernetes.io/managed-by: contrast-coordinator`,
 * `contrast.edgeless.systems/history: <h>`, `contrast.edgeless.systems/history-record:
 * manifests|policies|transitions|latest`. With an owner (the Coordinator's StatefulSet or
 * Deployment), each carries an owner reference to it, so deleting the Coordinator lets the
 * garbage collector remove its state.
 *
 * Compare-and-swap of latest: the version is `metadata.resourceVersion`; a swap is a PUT that
 * carries the expected resourceVersion (HTTP 409 → another writer won → `undefined`), a swap from
 * "absent" is a POST (409 AlreadyExists → lost). etcd orders the writes, so of several replicas
 * that read the same version exactly one wins.
 *
 * The API server is untrusted storage: nothing read here is believed before the
 * {@link import("./history_store.ts").HistoryStore} re-checks hashes and the signature. An
 * object that exists with other bytes than its name demands (planted or corrupted) is replaced on
 * the next write of the genuine bytes.
 *
 * RBAC the Coordinator's ServiceAccount needs in its namespace: `configmaps`: get, list, watch,
 * create, update, delete (delete only to replace a corrupted immutable object).
 *
 * @module
 */
import * as k8s from "@kubernetes/client-node";
import { constantTimeEqual, decodeBase64, encodeBase64 } from "../../util/bytes/mod.ts";
import { ContrastError, UnavailableError } from "../../util/errors/mod.ts";
import { apiStatus, type KubeConnection } from "../kube/client.ts";
import { deadlineOptions, DEFAULT_API_TIMEOUT_MS } from "../kube/deadline.ts";
import type { HistoryBackend, LatestRecord, LatestWatch, ObjectKind } from "./backend.ts";
import { FreshRead } from "./fresh_read.ts";

/** Default history name (prefix of every ConfigMap). */
export const DEFAULT_HISTORY_NAME = "contrast-history";
/** Label naming the history a ConfigMap belongs to. */
const HISTORY_LABEL = "contrast.edgeless.systems/history";
/** Label naming the record kind (an object kind, or `latest`). */
const HISTORY_RECORD_LABEL = "contrast.edgeless.systems/history-record";
/** The `app.kubernetes.io/managed-by` value. */
const MANAGED_BY = "contrast-coordinator";
/** The `binaryData` key holding a record's bytes. */
const CONTENT_KEY = "content";

/** An owner of the history ConfigMaps (the Coordinator's workload object). */
export interface HistoryOwner {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
}

/** Options of {@link KubernetesHistoryBackend}. */
interface KubernetesHistoryOptions {
  /** Client configuration and namespace. */
  readonly connection: KubeConnection;
  /** History name, prefix of every ConfigMap (default {@link DEFAULT_HISTORY_NAME}). */
  readonly name?: string;
  /** Owner reference put on every ConfigMap. */
  readonly owner?: HistoryOwner;
  /**
   * How long one API call may take (default {@link DEFAULT_API_TIMEOUT_MS}); a call the API
   * server leaves unanswered then rejects as unavailable.
   */
  readonly apiTimeoutMs?: number;
}

/** The history in ConfigMaps. */
export class KubernetesHistoryBackend implements HistoryBackend {
  readonly #api: k8s.CoreV1Api;
  readonly #connection: KubeConnection;
  readonly #namespace: string;
  readonly #name: string;
  readonly #owner?: HistoryOwner;
  /**
   * The deadline of every ConfigMap call: an API server that accepts a request and never answers
   * held the replica (a GET of latest every later read queued behind, see {@link FreshRead}; an
   * object read the queue of state changes), even after it behaved again.
   */
  readonly #call: k8s.ConfigurationOptions;

  constructor(options: KubernetesHistoryOptions) {
    const name = options.name ?? DEFAULT_HISTORY_NAME;
    if (!/^[a-z0-9]([-a-z0-9]{0,80}[a-z0-9])?$/.test(name)) {
      throw new ContrastError("history-name", `not a valid name prefix: ${JSON.stringify(name)}`);
    }
    this.#connection = options.connection;
    this.#api = options.connection.kubeConfig.makeApiClient(k8s.CoreV1Api);
    this.#namespace = options.connection.namespace;
    this.#name = name;
    this.#owner = options.owner;
    this.#call = deadlineOptions(options.apiTimeoutMs ?? DEFAULT_API_TIMEOUT_MS);
  }

  /** The ConfigMap name of an object. */
  objectName(kind: ObjectKind, name: string): string {
    return `${this.#name}-${kind}-${name}`;
  }

  /** The ConfigMap name of latest. */
  get latestName(): string {
    return `${this.#name}-latest`;
  }

  /** The namespace the ConfigMaps live in. */
  get namespace(): string {
    return this.#namespace;
  }

  #configMap(name: string, record: string, bytes: Uint8Array, immutable: boolean): k8s.V1ConfigMap {
    return {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name,
        namespace: this.#namespace,
        labels: {
          "app.kubernetes.io/managed-by": MANAGED_BY,
          [HISTORY_LABEL]: this.#name,
          [HISTORY_RECORD_LABEL]: record,
        },
        ...(this.#owner
          ? {
            ownerReferences: [{
              ...this.#owner,
              controller: false,
              blockOwnerDeletion: false,
            }],
          }
          : {}),
      },
      immutable,
      binaryData: { [CONTENT_KEY]: encodeBase64(bytes) },
    };
  }

  /**
   * Creates the object's ConfigMap. If one exists with other bytes (planted or corrupted), it is
   * deleted and created again with the genuine bytes.
   */
  async putObject(kind: ObjectKind, name: string, bytes: Uint8Array): Promise<void> {
    const cmName = this.objectName(kind, name);
    const body = this.#configMap(cmName, kind, bytes, true);
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.#api.createNamespacedConfigMap({ namespace: this.#namespace, body }, this.#call);
        return;
      } catch (error) {
        if (apiStatus(error) !== 409) throw this.#unavailable(`${kind}/${name}`, error);
      }
      const existing = await this.getObject(kind, name);
      if (existing !== undefined && constantTimeEqual(existing, bytes)) return;
      await this.#delete(cmName, `${kind}/${name}`);
    }
    throw new UnavailableError(`${kind}/${name}`, "could not store the object (kept changing)");
  }

  async #delete(cmName: string, field: string): Promise<void> {
    try {
      await this.#api.deleteNamespacedConfigMap(
        { name: cmName, namespace: this.#namespace },
        this.#call,
      );
    } catch (error) {
      if (apiStatus(error) !== 404) throw this.#unavailable(field, error);
    }
  }

  async #read(cmName: string, field: string): Promise<k8s.V1ConfigMap | undefined> {
    try {
      return await this.#api.readNamespacedConfigMap(
        { name: cmName, namespace: this.#namespace },
        this.#call,
      );
    } catch (error) {
      if (apiStatus(error) === 404) return undefined;
      throw this.#unavailable(field, error);
    }
  }

  /** The object's bytes, or `undefined` (untrusted: the store re-checks the hash). */
  async getObject(kind: ObjectKind, name: string): Promise<Uint8Array | undefined> {
    const cm = await this.#read(this.objectName(kind, name), `${kind}/${name}`);
    return cm && contentOf(cm);
  }

  /** The names of every stored object of `kind` (by label; pages through the list). */
  async listObjects(kind: ObjectKind): Promise<string[]> {
    const prefix = `${this.#name}-${kind}-`;
    const names: string[] = [];
    let next: string | undefined;
    do {
      let page: k8s.V1ConfigMapList;
      try {
        page = await this.#api.listNamespacedConfigMap({
          namespace: this.#namespace,
          labelSelector: `${HISTORY_LABEL}=${this.#name},${HISTORY_RECORD_LABEL}=${kind}`,
          limit: 500,
          ...(next ? { _continue: next } : {}),
        }, this.#call);
      } catch (error) {
        throw this.#unavailable(kind, error);
      }
      for (const cm of page.items) {
        const name = cm.metadata?.name ?? "";
        if (name.startsWith(prefix)) names.push(name.slice(prefix.length));
      }
      next = page.metadata?._continue || undefined;
    } while (next);
    return names;
  }

  /**
   * Latest with its resourceVersion, or `undefined` when there is none. Concurrent calls share a
   * GET that started after each of them (see {@link FreshRead}).
   */
  readLatest(): Promise<LatestRecord | undefined> {
    return this.#latest.read();
  }

  /** GETs of latest, coalesced: each caller is served a GET that started after it asked. */
  readonly #latest = new FreshRead(() => this.#readLatestNow());

  /** One GET of the latest ConfigMap. */
  async #readLatestNow(): Promise<LatestRecord | undefined> {
    const cm = await this.#read(this.latestName, "transitions/latest");
    if (!cm) return undefined;
    return {
      bytes: contentOf(cm) ?? new Uint8Array(),
      version: cm.metadata?.resourceVersion ?? "",
    };
  }

  /** PUT with the expected resourceVersion (or POST from absent); 409/404 → lost. */
  async compareAndSwapLatest(
    expectedVersion: string | undefined,
    bytes: Uint8Array,
  ): Promise<string | undefined> {
    const body = this.#configMap(this.latestName, "latest", bytes, false);
    try {
      const written = expectedVersion === undefined
        ? await this.#api.createNamespacedConfigMap(
          { namespace: this.#namespace, body },
          this.#call,
        )
        : await this.#api.replaceNamespacedConfigMap({
          name: this.latestName,
          namespace: this.#namespace,
          body: { ...body, metadata: { ...body.metadata, resourceVersion: expectedVersion } },
        }, this.#call);
      return written.metadata?.resourceVersion ?? "";
    } catch (error) {
      const status = apiStatus(error);
      if (status === 409 || status === 404) return undefined;
      throw this.#unavailable("transitions/latest", error);
    }
  }

  /**
   * Watches latest: `onChange` runs (with no arguments; re-read latest to learn the new state)
   * whenever the latest ConfigMap is added, changed or deleted, and after each reconnect of the
   * watch (a change may have been missed while disconnected). Reconnects with backoff.
   */
  watchLatest(onChange: () => void): LatestWatch {
    const selector = `${HISTORY_LABEL}=${this.#name},${HISTORY_RECORD_LABEL}=latest`;
    const path = `/api/v1/namespaces/${this.#namespace}/configmaps`;
    const informer = k8s.makeInformer<k8s.V1ConfigMap>(
      this.#connection.kubeConfig,
      path,
      () =>
        this.#api.listNamespacedConfigMap({
          namespace: this.#namespace,
          labelSelector: selector,
        }, this.#call),
      selector,
    );
    const latestName = this.latestName;
    const onObject = (cm: k8s.V1ConfigMap) => {
      if (cm.metadata?.name === latestName) onChange();
    };
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let backoffMs = 100;
    informer.on("add", onObject);
    informer.on("update", onObject);
    informer.on("delete", onObject);
    informer.on("connect", () => {
      backoffMs = 100;
      onChange();
    });
    const restart = () => {
      if (stopped) return;
      timer = setTimeout(() => {
        informer.start().catch(restart);
      }, backoffMs);
      backoffMs = Math.min(backoffMs * 2, 5_000);
    };
    informer.on("error", restart);
    informer.start().catch(restart);
    return {
      stop: async () => {
        stopped = true;
        if (timer !== undefined) clearTimeout(timer);
        await informer.stop();
      },
    };
  }

  #unavailable(field: string, error: unknown): UnavailableError {
    const status = apiStatus(error);
    const reason = status === undefined
      ? `Kubernetes API unreachable (${error instanceof Error ? error.message : String(error)})`
      : `Kubernetes API answered ${status}`;
    return new UnavailableError(field, reason, { cause: error });
  }
}

/** The bytes under `binaryData.content`, or `undefined` when the ConfigMap has none. */
function contentOf(cm: k8s.V1ConfigMap): Uint8Array | undefined {
  const b64 = cm.binaryData?.[CONTENT_KEY];
  if (b64 === undefined) return undefined;
  try {
    return decodeBase64(b64);
  } catch {
    return new Uint8Array(); // fails the hash check with a clear corruption error
  }
}
