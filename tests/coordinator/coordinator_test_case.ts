/**
 * One Coordinator test: registered with the resource and op sanitizers off (the Coordinator's
 * servers and timers outlive the test's view of them), given a fresh simulated deployment and an
 * in-process Coordinator serving it, closed afterwards whether the test passed or not.
 *
 * @module
 */
import { type Deployment, deployment, inProcessCoordinator } from "./fixture.ts";

/** The in-process Coordinator {@link inProcessCoordinator} starts. */
type InProcessCoordinator = Awaited<ReturnType<typeof inProcessCoordinator>>;

/**
 * Registers the test `name`: `fn` runs with a new deployment `d` and a Coordinator `c` for it
 * started with `options` (no manifest set), closed after `fn`, whether `fn` threw or not.
 */
export function coordinatorTest(
  name: string,
  fn: (d: Deployment, c: InProcessCoordinator) => Promise<void>,
  options: Parameters<typeof inProcessCoordinator>[1] = {},
): void {
  Deno.test({
    name,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const d = await deployment();
      const c = await inProcessCoordinator(d, options);
      try {
        await fn(d, c);
      } finally {
        await c.close();
      }
    },
  });
}
