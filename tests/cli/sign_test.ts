/**
 * `contrast sign --prepare` and `contrast set --signature FILE`: a workload owner whose key lives
 * outside contrast signs the prepared transition with openssl (`dgst -sign`, `pkeyutl -sign`,
 * both ASN.1 DER) and the update goes through; a wrong key, a signature over other bytes,
 * malformed DER and a stale prepared update are refused before anything is sent.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { encodeHex } from "../../util/bytes/mod.ts";
import { manifestHash, transitionHash } from "../../manifest/hash.ts";
import { runCliCaptured } from "../../testing/cli/capture.ts";
import { parseResultDocument } from "../../testing/cli/result_schema.ts";
import { coordinatorWorkspaceTest } from "./coordinator_workspace.ts";

async function openssl(...args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, stdout: "piped", stderr: "piped" })
    .output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
}

const run = runCliCaptured;

coordinatorWorkspaceTest(
  "sign --prepare + set --signature: openssl-signed updates accepted, bad ones refused",
  async (t, ws, c) => {
    const withSan = (san: string) =>
      ws.deployment.manifest((m) => {
        const web = (m.Policies as Record<string, { SANs: string[] }>)[
          encodeHex(ws.deployment.pods.web.digest)
        ]!;
        web.SANs.push(san);
      });
    await Deno.writeFile(`${ws.dir}/update1.json`, withSan("one.example"));
    const owner = `${ws.dir}/workload-owner.pem`;
    const bin = `${ws.dir}/update-transition.bin`;
    /** `contrast set` against the Coordinator with `args` before the workspace's YAML. */
    const setWith = (...args: string[]) =>
      run("set", "-c", c.userAddress, "-w", ws.dir, ...args, ws.yamlPath);
    /** `contrast set -m <manifest> --signature <sig> ...extra`. */
    const set = (sig: string, manifest = "update1.json", ...extra: string[]) =>
      setWith("-m", `${ws.dir}/${manifest}`, "--signature", sig, ...extra);
    /** `contrast sign --prepare` of the workspace's manifest or of `manifest`, then `extra`. */
    const prepare = (manifest?: string, ...extra: string[]) =>
      run(
        "sign",
        "--prepare",
        "-c",
        c.userAddress,
        "-w",
        ws.dir,
        ...(manifest === undefined ? [] : ["-m", `${ws.dir}/${manifest}`]),
        ...extra,
      );
    /** openssl's ASN.1 DER ECDSA signature with `key` over SHA-384 of `input`, into `out`. */
    const dgstSign = (key: string, out: string, input = bin) =>
      openssl("dgst", "-sha384", "-sign", key, "-out", out, input);

    await t.step("the first manifest, signed with openssl by a key it lists: set", async () => {
      let r = await prepare();
      assert.equal(r.code, 0, r.stderr);
      const genesis = await transitionHash(
        await manifestHash(await Deno.readFile(`${ws.dir}/manifest.json`)),
        new Uint8Array(32),
      );
      assert.equal(encodeHex(await Deno.readFile(bin)), encodeHex(genesis));
      await dgstSign(owner, `${ws.dir}/first.sig`);
      r = await setWith("--signature", `${ws.dir}/first.sig`);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(c.coordinator.phase, "active");
      assert.equal(
        JSON.parse(await Deno.readTextFile(`${ws.dir}/seed-shares.json`)).SeedShares.length,
        1,
      );
    });

    await t.step("sign without --prepare is a usage error (exit 2)", async () => {
      const r = await run("sign", "-c", c.userAddress, "-w", ws.dir);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /--prepare/);
    });

    await t.step(
      "--prepare writes the 32-byte transition hash and the prepared update",
      async () => {
        const r = await prepare("update1.json");
        assert.equal(r.code, 0, r.stderr);
        const bytes = await Deno.readFile(bin);
        const prepared = JSON.parse(await Deno.readTextFile(`${ws.dir}/update-prepared.json`));
        const first = await transitionHash(
          await manifestHash(ws.deployment.manifest()),
          new Uint8Array(32),
        );
        const expected = await transitionHash(
          await manifestHash(await Deno.readFile(`${ws.dir}/update1.json`)),
          first,
        );
        assert.equal(encodeHex(bytes), encodeHex(expected));
        assert.equal(prepared.schema, "contrast-update-prepared/v1");
        assert.equal(prepared.transition, encodeHex(expected));
        assert.equal(prepared.previousTransition, encodeHex(first));
        assert.deepEqual(prepared.signers, [{ keyIndex: 0, curve: "P-384", hash: "SHA-384" }]);
        assert.match(r.stdout, /openssl dgst -sha384 -sign/);
      },
    );

    await t.step("a signature by a key not in the manifest: exit 1", async () => {
      await openssl(
        "ecparam",
        "-name",
        "secp384r1",
        "-genkey",
        "-noout",
        "-out",
        `${ws.dir}/other.pem`,
      );
      await dgstSign(`${ws.dir}/other.pem`, `${ws.dir}/other.sig`);
      const r = await set(`${ws.dir}/other.sig`);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /other\.sig.*not a signature over the prepared transition/);
    });

    await t.step("the owner's signature over other bytes: exit 1", async () => {
      await dgstSign(owner, `${ws.dir}/bytes.sig`, `${ws.dir}/update1.json`);
      const r = await set(`${ws.dir}/bytes.sig`);
      assert.equal(r.code, 1, r.stderr);
    });

    await dgstSign(owner, `${ws.dir}/update.sig`);
    const good = await Deno.readFile(`${ws.dir}/update.sig`);

    await t.step("malformed DER (truncated, trailing byte, BER long length): exit 2", async () => {
      const variants = [
        good.subarray(0, good.length - 1),
        new Uint8Array([...good, 0]),
        new Uint8Array([0x30, 0x81, good[1]!, ...good.subarray(2)]),
      ];
      for (const [i, v] of variants.entries()) {
        await Deno.writeFile(`${ws.dir}/bad${i}.sig`, v);
        const r = await set(`${ws.dir}/bad${i}.sig`);
        assert.equal(r.code, 2, `variant ${i}: ${r.stderr}`);
        assert.match(r.stderr, new RegExp(`bad${i}\\.sig.*neither an ASN\\.1 DER`));
      }
    });

    await t.step(
      "openssl dgst -sign DER signature: the update is set (--json document)",
      async () => {
        const r = await set(`${ws.dir}/update.sig`, "update1.json", "--json");
        assert.equal(r.code, 0, r.stderr);
        const doc = JSON.parse(r.stdout);
        assert.equal(doc.command, "set");
        assert.equal(doc.ok, true);
        assert.equal(doc.result.transition, encodeHex(await Deno.readFile(bin)));
        assert.equal(doc.result.first, false);
      },
    );

    await Deno.writeFile(`${ws.dir}/update2.json`, withSan("two.example"));
    await Deno.writeFile(`${ws.dir}/update3.json`, withSan("three.example"));

    await t.step("a stale prepared update (the Coordinator moved on): exit 2", async () => {
      let r = await prepare("update2.json");
      assert.equal(r.code, 0, r.stderr);
      await dgstSign(owner, `${ws.dir}/update2.sig`);
      // Another update lands first (signed with the key file).
      r = await setWith("-m", `${ws.dir}/update3.json`);
      assert.equal(r.code, 0, r.stderr);
      r = await set(`${ws.dir}/update2.sig`, "update2.json", "--json");
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /update-prepared\.json: previousTransition: stale/);
      const doc = parseResultDocument(r.stdout);
      assert.equal(doc.outcome, "bad-input");
      assert.equal(doc.error.field, `${ws.dir}/update-prepared.json: previousTransition`);
    });

    await t.step(
      "prepared again and signed with openssl pkeyutl over the digest: set",
      async () => {
        let r = await prepare("update2.json", "--json");
        assert.equal(r.code, 0, r.stderr);
        const prepared = parseResultDocument(r.stdout);
        assert.equal(prepared.command, "sign");
        assert.equal(prepared.result.transition, encodeHex(await Deno.readFile(bin)));
        await openssl("dgst", "-sha384", "-binary", "-out", `${ws.dir}/digest.bin`, bin);
        await openssl(
          "pkeyutl",
          "-sign",
          "-inkey",
          owner,
          "-in",
          `${ws.dir}/digest.bin`,
          "-out",
          `${ws.dir}/pkeyutl.sig`,
        );
        r = await set(`${ws.dir}/pkeyutl.sig`, "update2.json");
        assert.equal(r.code, 0, r.stderr);
      },
    );

    await t.step("a prepared update for another manifest: exit 2", async () => {
      const r = await set(`${ws.dir}/pkeyutl.sig`, "update1.json");
      assert.equal(r.code, 2, r.stderr);
    });
  },
);
