import "reflect-metadata";
import assert from "node:assert/strict";
import { CertificateAuthority } from "../../../coordinator/ca/certificate_authority.ts";
import { SeedEngine } from "../../../seed/seed_engine.ts";
import {
  b64,
  podCredentials,
  removeDbWorkload,
  TRANSIT_SERVICE_CONFIG,
  transitTest,
} from "./fixture.ts";
import { coordinatorTest } from "../coordinator_test_case.ts";

transitTest(
  "transit: encrypt and decrypt with the pod's mesh certificate, vault:v1 ciphertexts",
  async ({ d, asPod }) => {
    const web = await asPod(d.pods.web!.digest);
    const enc = await web("POST", "/v1/transit/encrypt/web-secret", {
      plaintext: b64("card 4242"),
    });
    assert.equal(enc.status, 200, JSON.stringify(enc.body));
    assert.match(enc.body.data.ciphertext, /^vault:v1:[A-Za-z0-9+/]+=*$/);
    assert.equal(enc.body.data.key_version, 1);
    const again = await web("POST", "/v1/transit/encrypt/web-secret", {
      plaintext: b64("card 4242"),
    });
    assert.notEqual(again.body.data.ciphertext, enc.body.data.ciphertext, "random nonces");
    const dec = await web("POST", "/v1/transit/decrypt/web-secret", {
      ciphertext: enc.body.data.ciphertext,
    });
    assert.equal(dec.status, 200);
    assert.equal(dec.body.data.plaintext, b64("card 4242"));
  },
);

transitTest(
  "transit: associated data, batches with references and per-item errors",
  async ({ d, asPod }) => {
    const web = await asPod(d.pods.web!.digest);
    const call = (path: string, body: unknown) => web("POST", path, body);
    const enc = await call("/v1/transit/encrypt/web-secret:orders", {
      plaintext: b64("row 7"),
      associated_data: b64("table=orders"),
    });
    assert.equal(enc.status, 200);
    const ok = await call("/v1/transit/decrypt/web-secret:orders", {
      ciphertext: enc.body.data.ciphertext,
      associated_data: b64("table=orders"),
    });
    assert.equal(ok.body.data.plaintext, b64("row 7"));
    const wrongAad = await call("/v1/transit/decrypt/web-secret:orders", {
      ciphertext: enc.body.data.ciphertext,
      associated_data: b64("table=users"),
    });
    assert.equal(wrongAad.status, 400);
    assert.match(wrongAad.body.errors[0], /message authentication failed/);
    const otherLabel = await call("/v1/transit/decrypt/web-secret", {
      ciphertext: enc.body.data.ciphertext,
      associated_data: b64("table=orders"),
    });
    assert.equal(otherLabel.status, 400, "another label is another key");

    const batch = await call("/v1/transit/encrypt/web-secret", {
      batch_input: [
        { plaintext: b64("a"), reference: "r1" },
        { plaintext: b64("b"), associated_data: b64("x"), reference: "r2" },
      ],
    });
    assert.equal(batch.status, 200);
    const [r1, r2] = batch.body.data.batch_results;
    assert.equal(r1.reference, "r1");
    assert.equal(r2.key_version, 1);
    const decrypted = await call("/v1/transit/decrypt/web-secret", {
      batch_input: [
        { ciphertext: r1.ciphertext, reference: "r1" },
        { ciphertext: r2.ciphertext, reference: "r2" },
        { ciphertext: "vault:v1:AAAA", reference: "bad" },
      ],
      partial_failure_response_code: 207,
    });
    assert.equal(decrypted.status, 207);
    const results = decrypted.body.data.batch_results;
    assert.equal(results[0].plaintext, b64("a"));
    assert.match(results[1].error, /message authentication failed/, "r2 needs its AAD");
    assert.match(results[2].error, /too short/);
    assert.equal(results[2].reference, "bad");
    const allBad = await call("/v1/transit/decrypt/web-secret", {
      batch_input: [{ ciphertext: "nope" }],
      partial_failure_response_code: 207,
    });
    assert.equal(allBad.status, 400, "all items failed: 400 whatever the partial code");
    assert.match(allBad.body.data.batch_results[0].error, /no prefix/);
    const mixed = await call("/v1/transit/decrypt/web-secret", {
      batch_input: [{ ciphertext: r1.ciphertext }, { ciphertext: "nope" }],
    });
    assert.equal(mixed.status, 400, "a partial failure is 400 by default");
  },
);

transitTest(
  "transit: bad requests name the parameter (400), unknown paths 404, wrong methods 405",
  async ({ d, asPod }) => {
    const call = await asPod(d.pods.web!.digest);
    const cases: [string, string, unknown, number, RegExp][] = [
      ["POST", "/v1/transit/encrypt/web-secret", {}, 400, /plaintext: missing/],
      [
        "POST",
        "/v1/transit/encrypt/web-secret",
        { plaintext: "!!" },
        400,
        /plaintext: not base64/,
      ],
      [
        "POST",
        "/v1/transit/encrypt/web-secret",
        { plaintext: "", context: "eA==" },
        400,
        /context/,
      ],
      [
        "POST",
        "/v1/transit/encrypt/web-secret",
        { plaintext: "", name: "db-secret" },
        400,
        /name: differs from the key name in the path/,
      ],
      [
        "POST",
        "/v1/transit/encrypt/web-secret",
        { plaintext: "", colour: 1 },
        400,
        /colour: unknown/,
      ],
      [
        "POST",
        "/v1/transit/encrypt/web-secret",
        { plaintext: "", key_version: 2 },
        400,
        /version 2 does not exist/,
      ],
      [
        "POST",
        "/v1/transit/encrypt/web-secret",
        { batch_input: [{ plaintext: 3 }] },
        400,
        /batch_input\[0\]\.plaintext/,
      ],
      ["POST", "/v1/transit/encrypt/web-secret", { batch_input: [] }, 400, /non-empty/],
      [
        "POST",
        "/v1/transit/encrypt/web-secret",
        { plaintext: "", type: "rsa-2048" },
        400,
        /aes256-gcm96/,
      ],
      ["POST", "/v1/transit/encrypt/web-secret:bad%20label", { plaintext: "" }, 400, /label/],
      [
        "POST",
        "/v1/transit/decrypt/web-secret",
        { ciphertext: "vault:v9:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" },
        400,
        /version 9 does not exist/,
      ],
      [
        "POST",
        "/v1/transit/decrypt/web-secret",
        { ciphertext: "vault:vx:AAAA" },
        400,
        /key version/,
      ],
      ["GET", "/v1/transit/encrypt/web-secret", undefined, 405, /GET is not supported/],
      ["POST", "/v1/transit/sign/web-secret", {}, 404, /no handler/],
      ["POST", "/v1/sys/unseal", {}, 404, /no handler/],
      [
        "POST",
        "/v1/transit/keys/web-secret/rotate",
        {},
        405,
        /rotate with every manifest update/,
      ],
      ["DELETE", "/v1/transit/keys/web-secret", undefined, 405, /deletion is not allowed/],
      ["POST", "/v1/transit/keys/web-secret", { exportable: true }, 400, /exportable/],
    ];
    for (const [method, path, body, status, reason] of cases) {
      const r = await call(method, path, body);
      assert.equal(r.status, status, `${method} ${path} ${JSON.stringify(body)}`);
      assert.match(r.body.errors[0], reason, `${method} ${path}`);
    }
    const notJson = await call("POST", "/v1/transit/encrypt/web-secret");
    assert.equal(notJson.status, 400);
    const created = await call("POST", "/v1/transit/keys/web-secret", { type: "aes256-gcm96" });
    assert.equal(created.status, 204, "keys exist already: create is a no-op");
    const read = await call("GET", "/v1/transit/keys/web-secret");
    assert.equal(read.status, 200);
    assert.equal(read.body.data.type, "aes256-gcm96");
    assert.equal(read.body.data.latest_version, 1);
    assert.deepEqual(Object.keys(read.body.data.keys), ["1"]);
    assert.equal(read.body.data.exportable, false);
  },
);

transitTest(
  "transit: refuses (403, with the reason) other workloads' keys and callers without a key",
  async ({ d, c, view, as, asPod }) => {
    const web = await asPod(d.pods.web!.digest);
    const db = await asPod(d.pods.db!.digest);
    const enc = await web("POST", "/v1/transit/encrypt/web-secret", { plaintext: b64("secret") });
    const stolen = await db("POST", "/v1/transit/decrypt/web-secret", {
      ciphertext: enc.body.data.ciphertext,
    });
    assert.equal(stolen.status, 403);
    assert.match(
      stolen.body.errors[0],
      /permission denied: key "web-secret" does not belong to WorkloadSecretID "db-secret"/,
    );
    const viaLabel = await db("POST", "/v1/transit/encrypt/web-secret:x", { plaintext: "" });
    assert.equal(viaLabel.status, 403);
    const ownKey = await db("POST", "/v1/transit/decrypt/db-secret", {
      ciphertext: enc.body.data.ciphertext,
    });
    assert.equal(ownKey.status, 400, "db's own key does not open web's ciphertext");
    assert.match(ownKey.body.errors[0], /message authentication failed/);

    const none = await as(undefined)("POST", "/v1/transit/encrypt/web-secret", { plaintext: "" });
    assert.equal(none.status, 403);
    assert.match(none.body.errors[0], /no client certificate/);

    const coordinatorPod = await asPod(d.coordinator.digest);
    const noSecret = await coordinatorPod("POST", "/v1/transit/encrypt/web-secret", {
      plaintext: "",
    });
    assert.equal(noSecret.status, 403);
    assert.match(noSecret.body.errors[0], /has no WorkloadSecretID/);

    const stranger = await asPod(new Uint8Array(32).fill(7));
    const unknown = await stranger("POST", "/v1/transit/encrypt/web-secret", { plaintext: "" });
    assert.equal(unknown.status, 403);
    assert.match(unknown.body.errors[0], /policy 0707.* is not in the current manifest/);

    const foreignCa = await CertificateAuthority.fromSeed(SeedEngine.create());
    const forged = as(
      await podCredentials({ ...(await view()), ca: foreignCa }, d.pods.web!.digest),
    );
    const refused = await forged("POST", "/v1/transit/encrypt/web-secret", { plaintext: "" });
    assert.equal(refused.status, 403);
    assert.match(
      refused.body.errors[0],
      /not a mesh certificate of the current manifest generation/,
    );
    const logs = c.logs.join("\n");
    assert.doesNotMatch(
      logs,
      new RegExp(enc.body.data.ciphertext.slice(9, 30).replace(/[+/]/g, ".")),
    );
    assert.doesNotMatch(logs, new RegExp(b64("secret")));
  },
);

coordinatorTest(
  "transit: 503 before a manifest is set",
  async (_d, c) => {
    const https = await import("node:https");
    const status = await new Promise<number>((resolve, reject) => {
      const req = https.request({
        host: "127.0.0.1",
        port: c.service.transitPort,
        method: "POST",
        path: "/v1/transit/encrypt/web-secret",
        rejectUnauthorized: false, // the attested certificate is self-signed; nothing is secret
        agent: false,
      }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end("{}");
    });
    assert.equal(status, 503);
  },
  { service: TRANSIT_SERVICE_CONFIG },
);

transitTest(
  "transit: a manifest update rotates keys (v2), old versions still decrypt, removed " +
    "workloads and old certificates are refused",
  async ({ d, c, view, asPod }) => {
    const webV1 = await asPod(d.pods.web!.digest);
    const dbV1 = await asPod(d.pods.db!.digest);
    const v1 = await webV1("POST", "/v1/transit/encrypt/web-secret", { plaintext: b64("kept") });
    const previous = await c.coordinator.transitView();
    await removeDbWorkload(d, c);
    await c.service.transitReady();
    assert.notEqual(await view(), previous);

    const stale = await webV1("POST", "/v1/transit/decrypt/web-secret", {
      ciphertext: v1.body.data.ciphertext,
    });
    assert.equal(stale.status, 403, "certificates of the previous generation are refused");
    assert.match(stale.body.errors[0], /restart the pod/);
    const dbOld = await dbV1("POST", "/v1/transit/encrypt/db-secret", { plaintext: "" });
    assert.equal(dbOld.status, 403);

    const webV2 = await asPod(d.pods.web!.digest);
    const dec = await webV2("POST", "/v1/transit/decrypt/web-secret", {
      ciphertext: v1.body.data.ciphertext,
    });
    assert.equal(dec.status, 200, JSON.stringify(dec.body));
    assert.equal(dec.body.data.plaintext, b64("kept"));
    const v2 = await webV2("POST", "/v1/transit/encrypt/web-secret", { plaintext: b64("new") });
    assert.match(v2.body.data.ciphertext, /^vault:v2:/);
    const pinned = await webV2("POST", "/v1/transit/encrypt/web-secret", {
      plaintext: b64("old"),
      key_version: 1,
    });
    assert.match(pinned.body.data.ciphertext, /^vault:v1:/);
    const rewrapped = await webV2("POST", "/v1/transit/rewrap/web-secret", {
      ciphertext: v1.body.data.ciphertext,
    });
    assert.match(rewrapped.body.data.ciphertext, /^vault:v2:/);
    const back = await webV2("POST", "/v1/transit/decrypt/web-secret", {
      ciphertext: rewrapped.body.data.ciphertext,
    });
    assert.equal(back.body.data.plaintext, b64("kept"));
    const read = await webV2("GET", "/v1/transit/keys/web-secret");
    assert.equal(read.body.data.latest_version, 2);

    const dbNew = await asPod(d.pods.db!.digest);
    const removed = await dbNew("POST", "/v1/transit/encrypt/db-secret", { plaintext: "" });
    assert.equal(removed.status, 403, "db was removed: its keys are no longer served");
    assert.match(removed.body.errors[0], /is not in the current manifest/);
  },
);
