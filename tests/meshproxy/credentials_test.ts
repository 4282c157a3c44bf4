import "reflect-metadata";
import assert from "node:assert/strict";
import { checkCredentials, loadCredentials } from "../../meshproxy/credentials.ts";
import { UnavailableError, VerificationError } from "../../util/errors/mod.ts";
import { issuePod, meshAuthority, writePodFiles } from "../../bench/meshproxy/credentials.ts";
import { withTempDir } from "../helpers/temp_dir.ts";

Deno.test("credentials: a valid set loads with its fingerprint, SANs and expiry", async () => {
  await withTempDir(async (dir) => {
    const ca = await meshAuthority();
    await writePodFiles(dir, await issuePod(ca, ["web", "*"]));
    const c = await loadCredentials(dir);
    assert.deepEqual(c.leafSans, ["DNS:web", "DNS:*"]);
    assert.match(c.leafFingerprint, /^[0-9a-f]{64}$/);
    assert.ok(c.notAfter.getTime() > Date.now());
  });
});

Deno.test("credentials: each broken set is refused naming the file", async () => {
  const ca = await meshAuthority();
  const good = await issuePod(ca, ["web"]);
  const other = await issuePod(await meshAuthority(), ["web"]);
  const expired = await issuePod(ca, ["web"], {
    now: new Date("2024-01-01T00:00:00Z"),
    notAfter: new Date("2024-02-01T00:00:00Z"),
  });
  const now = new Date();
  const cases: [Parameters<typeof checkCredentials>[0], RegExp][] = [
    [
      { key: other.key, certChain: good.certChain, meshCa: good.meshCa },
      /key\.pem: the private key does not belong/,
    ],
    [{ key: good.key, certChain: other.certChain, meshCa: good.meshCa }, /certChain\.pem/],
    [
      { key: expired.key, certChain: expired.certChain, meshCa: good.meshCa },
      /certChain\.pem.*valid/,
    ],
    [
      { key: "nonsense", certChain: good.certChain, meshCa: good.meshCa },
      /key\.pem: not a PEM private key/,
    ],
    [{ key: good.key, certChain: "", meshCa: good.meshCa }, /certChain\.pem/],
    [
      { key: good.key, certChain: good.certChain, meshCa: good.meshCa + other.meshCa },
      /mesh-ca\.pem: expected exactly one/,
    ],
  ];
  for (const [files, pattern] of cases) {
    await assert.rejects(checkCredentials(files, "/tls", now), (e: unknown) => {
      assert.ok(e instanceof Error && pattern.test(e.message), String(e));
      return true;
    });
  }
  await assert.rejects(loadCredentials("/nonexistent"), UnavailableError);
  await assert.rejects(
    checkCredentials({ key: other.key, certChain: good.certChain, meshCa: good.meshCa }, "/t", now),
    VerificationError,
  );
});
