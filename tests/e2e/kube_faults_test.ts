import "reflect-metadata";
import assert from "node:assert/strict";
import { CoordinatorRejectedError } from "../../atls/pinned_client.ts";
import { encodeBase64 } from "../../util/bytes/mod.ts";
import { kubeToolsMissing, LocalKubeCluster } from "../../testing/kube/mod.ts";
import { writeUpdateWithout } from "../../testing/simulation/update.ts";
import { mulberry32 as prng } from "../../util/random/mulberry32.ts";
import { type CoordinatorProcess, createWorkspace, type Workspace } from "./harness.ts";
import {
  COORDINATOR_USER,
  coordinatorKubeconfig,
  isReady,
  startKubeReplica,
  waitFor,
} from "./kube_harness.ts";
import {
  type ManifestVariant,
  prepareUpdate,
  readVariant,
  replicaState,
} from "./kube_update_client.ts";

const NAME =
  "kubernetes backend, three replicas under faults: SIGKILLs mid-update, races (one wins, 409s), API server and etcd restarts, tampered ConfigMaps";
// CONTRAST_TEST_KILL_ROUNDS shortens the run while working on this file; CI runs 20.
const KILL_ROUNDS = Number(Deno.env.get("CONTRAST_TEST_KILL_ROUNDS") ?? 20);
const RACE_ROUNDS = 4;

/** Three replicas that can be killed and restarted by index. */
class Replicas {
  readonly #ws: Workspace;
  readonly #kubeconfig: string;
  readonly list: CoordinatorProcess[] = [];

  constructor(ws: Workspace, kubeconfig: string) {
    this.#ws = ws;
    this.#kubeconfig = kubeconfig;
  }

  async start(i: number): Promise<void> {
    this.list[i] = await startKubeReplica(this.#ws, this.#kubeconfig, `r${i + 1}`);
  }

  async allReady(timeoutMs = 60_000): Promise<void> {
    await waitFor(
      "every replica ready",
      async () => (await Promise.all(this.list.map(isReady))).every((r) => r),
      timeoutMs,
    );
  }

  async noneReady(timeoutMs = 30_000): Promise<void> {
    await waitFor(
      "every replica not ready",
      async () => (await Promise.all(this.list.map(isReady))).every((r) => !r),
      timeoutMs,
    );
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.list.map((r) => r.stop().catch(() => {})));
  }
}

/** Every replica reports the same latest and mesh CA, and its chain holds every acked one. */
async function assertConverged(
  replicas: Replicas,
  trust: ManifestVariant,
  acknowledged: ReadonlySet<string>,
  round: string,
): Promise<string> {
  const states = await Promise.all(replicas.list.map((r) => replicaState(r.userAddress, trust)));
  for (const s of states) {
    assert.equal(s.latest, states[0]!.latest, `${round}: two different latest`);
    assert.equal(s.meshCa, states[0]!.meshCa, `${round}: two different mesh CAs`);
    assert.equal(s.transitions.at(-1), s.latest);
  }
  const chain = new Set(states[0]!.transitions);
  for (const t of acknowledged) assert.ok(chain.has(t), `${round}: acknowledged ${t} lost`);
  return states[0]!.latest;
}

Deno.test({
  name: NAME,
  ignore: kubeToolsMissing(NAME),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    await using cluster = await LocalKubeCluster.start({ users: [COORDINATOR_USER] });
    const kubeconfig = await coordinatorKubeconfig(cluster);
    const ws = await createWorkspace();
    const replicas = new Replicas(ws, kubeconfig);
    const ownerPem = await Deno.readTextFile(`${ws.dir}/workload-owner.pem`);
    const full = await readVariant(`${ws.dir}/manifest.json`, ws.yamlPath);
    const noDb = await writeUpdateWithout(ws, "db", "no-db");
    const noWeb = await writeUpdateWithout(ws, "web", "no-web");
    const variants = [
      full,
      await readVariant(noDb.manifestPath, noDb.yamlPath),
      await readVariant(noWeb.manifestPath, noWeb.yamlPath),
    ];
    const acknowledged = new Set<string>();
    const random = prng(15);
    const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
    try {
      for (let i = 0; i < 3; i++) await replicas.start(i);
      const first = await prepareUpdate(replicas.list[0]!.userAddress, full, ownerPem);
      acknowledged.add(await first.send());
      await replicas.allReady();

      await t.step(
        `${RACE_ROUNDS} rounds of concurrent updates through all three replicas: one wins, the others 409`,
        async () => {
          for (let round = 0; round < RACE_ROUNDS; round++) {
            const prepared = await Promise.all(
              replicas.list.map((r, i) => prepareUpdate(r.userAddress, variants[i]!, ownerPem)),
            );
            assert.equal(new Set(prepared.map((p) => p.previous)).size, 1);
            const results = await Promise.allSettled(prepared.map((p) => p.send()));
            const won = results.filter((r) => r.status === "fulfilled");
            assert.equal(won.length, 1, `round ${round}: ${won.length} winners`);
            for (const r of results) {
              if (r.status === "rejected") {
                assert.ok(
                  r.reason instanceof CoordinatorRejectedError && r.reason.status === 409,
                  `round ${round}: ${r.reason}`,
                );
              }
            }
            acknowledged.add((won[0] as PromiseFulfilledResult<string>).value);
            await assertConverged(replicas, full, acknowledged, `race ${round}`);
          }
        },
      );

      await t.step(
        `${KILL_ROUNDS} rounds: SIGKILL a random replica at a random moment of an update and an attestation`,
        async () => {
          for (let round = 0; round < KILL_ROUNDS; round++) {
            const victim = Math.floor(random() * 3);
            const writer = Math.floor(random() * 3);
            const delayMs = Math.floor(random() * 400);
            const update = (async () => {
              const prepared = await prepareUpdate(
                replicas.list[writer]!.userAddress,
                pick(variants),
                ownerPem,
              );
              return await prepared.send();
            })();
            const attestation = replicaState(replicas.list[victim]!.userAddress, full);
            // Settle both now: either may fail when its replica dies under it.
            const settled = Promise.allSettled([update, attestation]);
            await new Promise((r) => setTimeout(r, delayMs));
            await replicas.list[victim]!.stop("SIGKILL");
            const [updated] = await settled;
            if (updated.status === "fulfilled") acknowledged.add(updated.value);
            else if (writer !== victim) {
              // Only a killed writer may fail to answer; a live one answers or loses a race.
              assert.ok(
                updated.reason instanceof CoordinatorRejectedError && updated.reason.status === 409,
                `round ${round}: ${updated.reason}`,
              );
            }
            await replicas.start(victim); // no seed: it recovers from its peers on its own
            await replicas.allReady();
            await assertConverged(replicas, full, acknowledged, `kill round ${round}`);
          }
          console.log(
            `${KILL_ROUNDS} kill rounds: ${acknowledged.size} acknowledged transitions, none lost`,
          );
        },
      );

      await t.step("API server restart: replicas degrade to not ready and come back", async () => {
        await cluster.stopApiServer("SIGKILL");
        await replicas.noneReady();
        await cluster.startApiServer();
        await replicas.allReady();
        const p = await prepareUpdate(replicas.list[1]!.userAddress, full, ownerPem);
        acknowledged.add(await p.send());
        await assertConverged(replicas, full, acknowledged, "after API server restart");
      });

      await t.step("etcd restart: replicas degrade to not ready and come back", async () => {
        await cluster.stopEtcd("SIGKILL");
        await replicas.noneReady();
        await cluster.startEtcd();
        await replicas.allReady(90_000);
        const p = await prepareUpdate(replicas.list[2]!.userAddress, full, ownerPem);
        acknowledged.add(await p.send());
        await assertConverged(replicas, full, acknowledged, "after etcd restart");
      });

      await t.step(
        "a forged latest is refused; the genuine one restored, replicas serve again",
        async () => {
          const get = await cluster.kubectl([
            "get",
            "configmap",
            "contrast-history-latest",
            "-o",
            "json",
          ]);
          const genuine = JSON.parse(get.stdout);
          const forged = structuredClone(genuine);
          const bytes = crypto.getRandomValues(new Uint8Array(128)); // right length, wrong signature
          forged.binaryData.content = encodeBase64(bytes);
          delete forged.metadata.resourceVersion;
          assert.equal(
            (await cluster.kubectl(["replace", "-f", "-"], { stdin: JSON.stringify(forged) })).code,
            0,
          );
          await replicas.noneReady();
          await assert.rejects(replicaState(replicas.list[0]!.userAddress, full));
          delete genuine.metadata.resourceVersion;
          assert.equal(
            (await cluster.kubectl(["replace", "-f", "-"], { stdin: JSON.stringify(genuine) }))
              .code,
            0,
          );
          await replicas.allReady();
          await assertConverged(replicas, full, acknowledged, "after forged latest");
        },
      );

      await t.step("a changed manifest ConfigMap is refused by a recovering replica", async () => {
        const latest = (await replicaState(replicas.list[0]!.userAddress, full)).transitions;
        const listed = JSON.parse(
          (await cluster.kubectl([
            "get",
            "configmaps",
            "-l",
            "contrast.edgeless.systems/history-record=manifests",
            "-o",
            "json",
          ])).stdout,
        );
        assert.ok(listed.items.length >= 1 && latest.length >= 1);
        const victims = listed.items.map((cm: { metadata: { name: string } }) => cm.metadata.name);
        const backups = [];
        for (const name of victims) {
          const cm = JSON.parse(
            (await cluster.kubectl(["get", "configmap", name, "-o", "json"])).stdout,
          );
          backups.push(cm);
          await cluster.kubectl(["delete", "configmap", name]);
          const planted = structuredClone(cm);
          delete planted.metadata.resourceVersion;
          delete planted.metadata.uid;
          planted.binaryData.content = encodeBase64(new TextEncoder().encode('{"Policies":{}}'));
          await cluster.kubectl(["create", "-f", "-"], { stdin: JSON.stringify(planted) });
        }
        // Running replicas keep their verified state; a restarted one cannot verify the history.
        await replicas.list[0]!.stop("SIGKILL");
        await replicas.start(0);
        await new Promise((r) => setTimeout(r, 6_000));
        assert.equal(await isReady(replicas.list[0]!), false, "recovered from a tampered history");
        assert.ok(
          replicas.list[0]!.logs.some((l) =>
            /does not sign this Coordinator's history|corrupt|does not match its hash/.test(l)
          ),
          replicas.list[0]!.logs.slice(-5).join("\n"),
        );
        for (const cm of backups) {
          await cluster.kubectl(["delete", "configmap", cm.metadata.name]);
          delete cm.metadata.resourceVersion;
          delete cm.metadata.uid;
          await cluster.kubectl(["create", "-f", "-"], { stdin: JSON.stringify(cm) });
        }
        await replicas.allReady();
        await assertConverged(replicas, full, acknowledged, "after restoring the manifests");
      });
    } catch (error) {
      console.error(await cluster.logs(20));
      throw error;
    } finally {
      await replicas.stopAll();
      await ws.cleanup();
    }
  },
});
