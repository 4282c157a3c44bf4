/**
 * The policy-check fixture pod, kept in `testing/` so benchmarks can use it too.
 *
 * @module
 */
export * from "../../../testing/policy/check_fixture.ts";
