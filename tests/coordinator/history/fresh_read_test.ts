import assert from "node:assert/strict";
import { FreshRead } from "../../../coordinator/history/fresh_read.ts";

/**
 * A stored value and reads of it that each take a snapshot when they start and answer only when
 * the test releases them (or fail, or never answer).
 */
class GatedStore {
  value = 0;
  /** How many reads started. */
  reads = 0;
  /** The reads started and not yet released, oldest first. */
  readonly pending: {
    readonly snapshot: number;
    readonly settle: PromiseWithResolvers<number>;
  }[] = [];

  read = (): Promise<number> => {
    this.reads++;
    const settle = Promise.withResolvers<number>();
    this.pending.push({ snapshot: this.value, settle });
    return settle.promise;
  };

  /** Lets the oldest pending read answer its snapshot. */
  release(): void {
    const read = this.pending.shift()!;
    read.settle.resolve(read.snapshot);
  }

  /** Lets the oldest pending read fail with `error`. */
  fail(error: Error): void {
    this.pending.shift()!.settle.reject(error);
  }
}

/** Lets queued promise callbacks run. */
async function drain(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

Deno.test("fresh read: a value stored while a read runs is seen by a caller that asked after the store", async () => {
  const store = new GatedStore();
  const latest = new FreshRead(store.read);
  const early = latest.read();
  store.value = 1; // stored while the first read (snapshot 0) is in flight
  const late = latest.read();
  await drain();
  store.release();
  assert.equal(await early, 0); // the early caller asked before the store: the old value is fine
  await drain();
  assert.equal(store.reads, 2, "the late caller waits for a read that starts after it asked");
  store.release();
  assert.equal(await late, 1);
});

Deno.test("fresh read: N concurrent callers cause at most 2 reads, all served the same fresh answer", async () => {
  const store = new GatedStore();
  const latest = new FreshRead(store.read);
  const first = latest.read();
  const rest = Array.from({ length: 50 }, () => latest.read());
  await drain();
  assert.equal(store.reads, 1);
  store.value = 7;
  store.release();
  await drain();
  assert.equal(store.reads, 2);
  store.release();
  assert.equal(await first, 0);
  assert.deepEqual(await Promise.all(rest), rest.map(() => 7));
  assert.equal(store.reads, 2);
  // Nothing is cached: a caller after that starts a new read.
  const again = latest.read();
  assert.equal(store.reads, 3);
  store.release();
  assert.equal(await again, 7);
});

Deno.test("fresh read: a failing read fails every caller it serves, and the next read starts fresh", async () => {
  const store = new GatedStore();
  const latest = new FreshRead(store.read);
  const first = latest.read();
  const waiters = Array.from({ length: 5 }, () => latest.read());
  const failedFirst = assert.rejects(first, /storage down/);
  store.fail(new Error("storage down"));
  await failedFirst;
  await drain();
  assert.equal(store.reads, 2);
  const failedWaiters = waiters.map((w) => assert.rejects(w, /still down/));
  store.fail(new Error("still down"));
  await Promise.all(failedWaiters);
  store.value = 3;
  const after = latest.read();
  assert.equal(store.reads, 3, "a failure is not remembered: the next caller reads again");
  store.release();
  assert.equal(await after, 3);
});

Deno.test("fresh read: a read that throws synchronously fails its callers", async () => {
  let calls = 0;
  const latest = new FreshRead<number>(() => {
    calls++;
    throw new Error("bad read");
  });
  await assert.rejects(latest.read(), /bad read/);
  await assert.rejects(latest.read(), /bad read/);
  assert.equal(calls, 2);
});

Deno.test("fresh read: a read that does not answer in time fails its callers and frees the next read", async () => {
  const store = new GatedStore();
  const latest = new FreshRead(store.read, {
    timeoutMs: 20,
    timeoutError: () => new Error("storage did not answer"),
  });
  const hung = latest.read();
  const waiter = latest.read();
  await assert.rejects(hung, /storage did not answer/);
  await drain();
  // The hung read is abandoned: the waiter's read starts without waiting for it.
  assert.equal(store.reads, 2);
  store.value = 5;
  store.pending[1].settle.resolve(5);
  assert.equal(await waiter, 5);
  // The abandoned read answering late changes nothing.
  store.release();
  store.value = 6;
  const after = latest.read();
  assert.equal(store.reads, 3);
  store.pending[1].settle.resolve(6);
  assert.equal(await after, 6);
});
