/**
 * The `openssl` command for tests that run it as a hostile peer (`s_client`, `s_server`): whether
 * it can run here, so a test without it skips loudly instead of failing.
 *
 * @module
 */

/** Why `openssl` cannot be run here, or undefined when it can. */
export async function whyNoOpenssl(): Promise<string | undefined> {
  try {
    const out = await new Deno.Command("openssl", { args: ["version"], stdout: "null" }).output();
    return out.success ? undefined : "openssl version failed";
  } catch (error) {
    return (error as Error).message;
  }
}
