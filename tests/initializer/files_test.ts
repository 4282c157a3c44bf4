/**
 * The initializer sets its folders' modes explicitly, so even a process umask of 000 leaves no
 * world-writable (or, for secrets, world-readable) folder behind. Runs the write in a child
 * process started with `umask 000`.
 */
import assert from "node:assert/strict";
import { withTempDir } from "../helpers/temp_dir.ts";
import { REPO_ROOT } from "../../testing/simulation/processes.ts";

const CHILD = `
import { writeCredentials } from "${REPO_ROOT}initializer/files.ts";
const [tls, secrets] = Deno.args;
const key = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign"]);
await writeCredentials(
  { tlsConfigDir: tls, secretsDir: secrets },
  { certChain: "c", meshCa: "m", rootCa: "r", workloadSecret: new Uint8Array(32) },
  key.privateKey,
);
`;

Deno.test("tls-config/ is 0755 and secrets/ 0700 under umask 000", () =>
  withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/child.ts`, CHILD);
    const out = await new Deno.Command("sh", {
      args: [
        "-c",
        `umask 000 && "${Deno.execPath()}" run -A --config "${REPO_ROOT}deno.json" "${dir}/child.ts" "${dir}/pod/tls-config" "${dir}/pod/secrets"`,
      ],
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.equal((await Deno.stat(`${dir}/pod/tls-config`)).mode! & 0o777, 0o755);
    assert.equal((await Deno.stat(`${dir}/pod/secrets`)).mode! & 0o777, 0o700);
    assert.equal((await Deno.stat(`${dir}/pod/tls-config/key.pem`)).mode! & 0o777, 0o400);
    assert.equal(
      (await Deno.stat(`${dir}/pod/secrets/workload-secret-seed`)).mode! & 0o777,
      0o400,
    );
  }));

Deno.test("a run that receives no workload secret removes the one an earlier run wrote", () =>
  withTempDir(async (dir) => {
    const { writeCredentials } = await import("../../initializer/files.ts");
    const paths = { tlsConfigDir: `${dir}/tls-config`, secretsDir: `${dir}/secrets` };
    const key = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
      "sign",
    ]);
    const pems = { certChain: "c", meshCa: "m", rootCa: "r" };
    await writeCredentials(paths, { ...pems, workloadSecret: new Uint8Array(32) }, key.privateKey);
    const secret = `${dir}/secrets/workload-secret-seed`;
    assert.ok((await Deno.stat(secret)).isFile);
    // The init container runs again (same pod volume); the manifest no longer gives a secret.
    const written = await writeCredentials(paths, pems, key.privateKey);
    await assert.rejects(Deno.stat(secret), Deno.errors.NotFound);
    assert.ok(written.every((path) => !path.includes("workload-secret-seed")));
    // Nothing to remove is fine too.
    await writeCredentials(paths, pems, key.privateKey);
  }));
