/**
 * The Coordinator's re-reads of the stored latest before answering are coalesced without
 * weakening freshness: a request is answered from a read that started after it asked, concurrent
 * requests share such reads, and a failing or hung read fails every request it serves.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { concatBytes, decodeHex } from "../../util/bytes/mod.ts";
import type { Coordinator, CoordinatorOptions } from "../../coordinator/coordinator.ts";
import type { HistoryBackend, LatestRecord } from "../../coordinator/history/backend.ts";
import { type Deployment, inProcessCoordinator } from "./fixture.ts";
import { setManifest, sharedParts, startOn } from "./replica_fixture.ts";
import { coordinatorTest } from "./coordinator_test_case.ts";

/**
 * A shared store seen through a connection whose reads of latest are counted and can be held
 * (each takes its snapshot when it starts and answers when released), fail, or hang.
 */
class GatedBackend implements HistoryBackend {
  /** Reads of latest started. */
  reads = 0;
  /** Hold reads until {@link release}. */
  hold = false;
  /** Fail reads with this error (when they answer). */
  failing?: Error;
  /** Reads held, oldest first. */
  readonly held: { readonly answer: () => void; readonly fail: (e: Error) => void }[] = [];
  readonly #inner: HistoryBackend;

  constructor(inner: HistoryBackend) {
    this.#inner = inner;
  }

  putObject: HistoryBackend["putObject"] = (k, n, b) => this.#inner.putObject(k, n, b);
  getObject: HistoryBackend["getObject"] = (k, n) => this.#inner.getObject(k, n);
  listObjects: HistoryBackend["listObjects"] = (k) => this.#inner.listObjects(k);
  compareAndSwapLatest: HistoryBackend["compareAndSwapLatest"] = (v, b) =>
    this.#inner.compareAndSwapLatest(v, b);

  readLatest(): Promise<LatestRecord | undefined> {
    this.reads++;
    const snapshot = this.#inner.readLatest();
    const failing = this.failing;
    if (!this.hold) return failing ? Promise.reject(failing) : snapshot;
    const { promise, resolve, reject } = Promise.withResolvers<LatestRecord | undefined>();
    this.held.push({
      answer: () => failing ? reject(failing) : resolve(snapshot),
      fail: reject,
    });
    return promise;
  }

  /** Lets every held read answer its snapshot (or fail with `error`), and holds no more. */
  release(error?: Error): void {
    this.hold = false;
    for (const read of this.held.splice(0)) error ? read.fail(error) : read.answer();
  }
}

/** Waits (yielding to timers and I/O) until `condition` holds. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 1));
}

const ZERO = { nonce: new Uint8Array(32) };

/** An active replica B whose connection to A's store is `gated`, and A's first manifest. */
async function activeReplica(
  d: Deployment,
  a: Awaited<ReturnType<typeof inProcessCoordinator>>,
  extra: Partial<CoordinatorOptions> = {},
): Promise<{ b: Coordinator; gated: GatedBackend; first: { transition: string } }> {
  const first = await a.setFirstManifest();
  const gated = new GatedBackend(a.backend);
  const parts = { ...sharedParts("replica-b"), ...extra };
  const b = await startOn(d, gated, d.coordinator.digest, parts);
  await b.recoverFromPeer(a.meshAddress);
  return { b, gated, first };
}

/** What a replica test gets: the deployment, primary A, replica B on the gated store, A's first manifest. */
interface ReplicaScene {
  readonly d: Deployment;
  readonly a: Awaited<ReturnType<typeof inProcessCoordinator>>;
  readonly b: Coordinator;
  readonly gated: GatedBackend;
  readonly first: { transition: string };
}

/** A test with primary A and an active replica B reading A's store through a gated connection. */
function replicaTest(
  name: string,
  fn: (scene: ReplicaScene) => Promise<void>,
  extra: Partial<CoordinatorOptions> = {},
): void {
  coordinatorTest(name, async (d, a) => fn({ d, a, ...await activeReplica(d, a, extra) }));
}

replicaTest(
  "latest re-read: a latest stored while a read is in flight is seen by a request that arrived after the store",
  async ({ b, gated, first, d, a }) => {
    gated.hold = true;
    const readsBefore = gated.reads;
    const early = b.attest(ZERO);
    await until(() => gated.held.length === 1);
    // A stores a new latest while B's read (which saw the old one) is in flight.
    const second = await setManifest(
      d,
      a.coordinator,
      concatBytes(d.manifest(), new TextEncoder().encode("\n")),
      decodeHex(first.transition),
    );
    const late = b.attest(ZERO);
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(gated.reads, readsBefore + 1, "the late request does not start a second read");
    gated.release();
    // The early request asked before the store: the old state is a correct answer for it.
    assert.equal((await early).latestTransition, first.transition);
    assert.equal((await late).latestTransition, second.transition);
    assert.equal(b.ready(), true);
  },
);

replicaTest(
  "latest re-read: N concurrent requests cause at most 2 reads of the stored latest",
  async ({ b, gated, first }) => {
    gated.hold = true;
    const readsBefore = gated.reads;
    const requests = Array.from({ length: 40 }, () => b.attest(ZERO));
    await until(() => gated.held.length === 1);
    await new Promise((r) => setTimeout(r, 5));
    gated.release();
    const answers = await Promise.all(requests);
    for (const answer of answers) assert.equal(answer.latestTransition, first.transition);
    assert.ok(gated.reads - readsBefore <= 2, `${gated.reads - readsBefore} reads for 40`);
  },
);

replicaTest(
  "latest re-read: a failing read fails every request it serves and marks not ready; the next read is fresh",
  async ({ b, gated, first }) => {
    gated.hold = true;
    const readsBefore = gated.reads;
    const firstRequest = b.attest(ZERO);
    await until(() => gated.held.length === 1);
    const waiters = Array.from({ length: 5 }, () => b.attest(ZERO));
    const failures = [firstRequest, ...waiters].map((r) => assert.rejects(r, /storage down/));
    // The read in flight fails, and so does the read the waiters share.
    gated.failing = new Error("storage down");
    gated.release(gated.failing);
    await Promise.all(failures);
    assert.equal(gated.reads - readsBefore, 2);
    assert.equal(b.ready(), false);
    gated.failing = undefined;
    assert.equal((await b.attest(ZERO)).latestTransition, first.transition);
    assert.equal(gated.reads - readsBefore, 3, "the failure is not served again: a new read");
    assert.equal(b.ready(), true);
  },
);

replicaTest(
  "latest re-read: a read that does not answer in the storage timeout fails every request it serves; the next read is fresh",
  async ({ b, gated, first }) => {
    gated.hold = true; // held reads never answer until released: the storage hangs
    const requests = Array.from({ length: 5 }, () => b.attest(ZERO));
    await Promise.all(
      requests.map((r) => assert.rejects(r, /storage did not answer in 30 ms/)),
    );
    assert.equal(b.ready(), false);
    gated.release(); // the hung reads answer late: nobody is waiting for them
    assert.equal((await b.attest(ZERO)).latestTransition, first.transition);
    assert.equal(b.ready(), true);
  },
  { storageTimeoutMs: 30 },
);
