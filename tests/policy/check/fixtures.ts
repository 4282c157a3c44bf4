/**
 * The policy-check fixture pod, kept in `testing/` so benchmarks can use it too.
 *
 * @module
 */
export * from "../../../testing/policy/check_fixture.ts";
import { fixtureCluster, fixtureWorkload, IMAGES } from "../../../testing/policy/check_fixture.ts";
import {
  buildRequestSequence,
  type RequestSequence,
} from "../../../policy/check/request_sequence.ts";
import { seededRandom } from "../../../policy/check/random_ids.ts";

/** The fixture pod's legitimate request sequence, its random IDs drawn from `seed`. */
export function fixtureSequence(seed: number): RequestSequence {
  return buildRequestSequence({
    workload: fixtureWorkload(),
    images: IMAGES,
    cluster: fixtureCluster(),
    rng: seededRandom(seed),
  });
}
