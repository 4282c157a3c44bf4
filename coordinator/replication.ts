/**
 * What keeps a Coordinator replica in step with the others, in the background:
 *
 * - re-checks the stored latest every `refreshMs` (besides the watch): a transition made
 *   elsewhere is loaded, and an unreachable store marks the replica not ready until it is back;
 * - publishes its readiness to peer discovery (a Lease) when discovery is configured;
 * - while in recovery mode, asks ready peers (found through discovery, or given with `--peer`)
 *   for the seed, with mutual attestation (see {@link Coordinator.recoverFromPeer}).
 *
 * @module
 */
import type { Coordinator } from "./coordinator.ts";
import type { Logger } from "../util/log/logger.ts";

/** Where ready peers are found (the Kubernetes Lease registry). */
export interface PeerDiscovery {
  /** Starts publishing this replica; `ready` is asked at each renewal. */
  start(ready: () => boolean): void;
  /** Publishes the current readiness now. */
  renew(): Promise<void>;
  /** Mesh addresses of the other ready replicas (unverified hints). */
  readyPeers(): Promise<string[]>;
  /** Stops publishing and removes this replica. */
  stop(): Promise<void>;
}

/** Options of {@link startReplication}. */
interface ReplicationOptions {
  /** Peer discovery; without it only `staticPeers` are asked. */
  readonly discovery?: PeerDiscovery;
  /** Mesh addresses given on the command line (`--peer`). */
  readonly staticPeers?: readonly string[];
  /** Interval of the latest re-check and of recovery attempts (default 2000 ms). */
  readonly refreshMs?: number;
}

/** The running background work; `stop()` ends it. */
interface Replication {
  stop(): Promise<void>;
}

/** Starts the background work of `coordinator`. */
export function startReplication(
  coordinator: Coordinator,
  logger: Logger,
  options: ReplicationOptions,
): Replication {
  const refreshMs = options.refreshMs ?? 2000;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let wasReady = coordinator.ready();
  options.discovery?.start(() => coordinator.ready());

  const recoverFromPeers = async () => {
    const discovered = await options.discovery?.readyPeers().catch((error) => {
      logger.warn("peer discovery failed", { reason: errorText(error) });
      return [];
    }) ?? [];
    const peers = [...new Set([...(options.staticPeers ?? []), ...discovered])];
    for (const peer of peers) {
      if (stopped || coordinator.phase !== "recovery") return;
      try {
        await coordinator.recoverFromPeer(peer);
        logger.info("recovered from peer", { peer });
      } catch (error) {
        logger.warn("peer recovery failed; trying the next", { peer, reason: errorText(error) });
      }
    }
  };

  const tick = async () => {
    if (stopped) return;
    await coordinator.refresh().catch(() => {});
    if (coordinator.phase === "recovery") await recoverFromPeers();
    const ready = coordinator.ready();
    if (ready !== wasReady) {
      wasReady = ready;
      logger.info(ready ? "ready" : "not ready", { phase: coordinator.phase });
      await options.discovery?.renew().catch(() => {});
    }
    if (!stopped) timer = setTimeout(tick, refreshMs);
  };
  tick();
  return {
    stop: async () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await options.discovery?.stop();
    },
  };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
