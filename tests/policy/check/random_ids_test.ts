import assert from "node:assert/strict";
import {
  containerId,
  generatedPodName,
  kubeSuffix,
  seededRandom,
  systemRandom,
  uuid,
} from "../../../policy/check/random_ids.ts";

Deno.test("pod names follow each controller's naming", () => {
  const rng = seededRandom(1);
  for (let i = 0; i < 50; i++) {
    assert.match(generatedPodName("Deployment", "web", rng), /^web-[a-z0-9]{8,10}-[a-z0-9]{5}$/);
    assert.match(generatedPodName("StatefulSet", "db", rng), /^db-[0-9]+$/);
    assert.match(generatedPodName("DaemonSet", "agent", rng), /^agent-[a-z0-9]{5}$/);
    assert.match(generatedPodName("Job", "once", rng), /^once-[a-z0-9]{5}$/);
    assert.match(generatedPodName("CronJob", "tick", rng), /^tick-[0-9]{8}-[a-z0-9]{5}$/);
  }
  assert.equal(generatedPodName("Pod", "solo", rng), "solo");
});

Deno.test("kubernetes suffixes use the no-vowel alphabet", () => {
  const s = kubeSuffix(seededRandom(2), 200);
  assert.match(s, /^[bcdfghjklmnpqrstvwxz2456789]{200}$/);
});

Deno.test("IDs have the runtime's formats and differ between draws", () => {
  const rng = systemRandom;
  assert.match(containerId(rng), /^[0-9a-f]{64}$/);
  assert.match(uuid(rng), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notEqual(containerId(rng), containerId(rng));
});

Deno.test("a seeded source replays the same bytes; different seeds differ", () => {
  assert.deepEqual(seededRandom(5).bytes(33), seededRandom(5).bytes(33));
  assert.notDeepEqual(seededRandom(5).bytes(16), seededRandom(6).bytes(16));
});

Deno.test("generated names keep at most 58 characters of their base, then 5 random ones", () => {
  const rng = seededRandom(9);
  const long = "a-very-long-deployment-name-that-goes-on-and-on-for-a-while";
  for (let i = 0; i < 20; i++) {
    const name = generatedPodName("Deployment", long, rng);
    assert.equal(name.length, 63);
    assert.ok(name.startsWith(long.slice(0, 58)));
    assert.equal(generatedPodName("DaemonSet", long, rng).length, 63);
    assert.match(generatedPodName("Job", "short", rng), /^short-[a-z0-9]{5}$/);
  }
});
