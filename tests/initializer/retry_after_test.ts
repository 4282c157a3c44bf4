/**
 * The initializer against a Coordinator that answers 429 (the pod's budget of uncached vendor
 * lookups is spent) or 503 (busy) with `Retry-After`: it retries no sooner than asked, clamped
 * to a minute, with the backoff alone when the header is unreadable. The clock and sleep are
 * injected: every wait is recorded, none is taken.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { encodeHex } from "../../util/bytes/mod.ts";
import { createAttestedTlsIdentity, generateTlsKeyPair } from "../../atls/certificate.ts";
import { CoordinatorUnavailableError, PinnedHttpsClient } from "../../atls/pinned_client.ts";
import { Logger } from "../../util/log/logger.ts";
import { SimulatedSnpEvidenceSource } from "../../testing/simulated_evidence.ts";
import {
  DEFAULT_MAX_RETRY_AFTER_MS,
  InitializerFailedError,
  isPermanent,
  retryWait,
  runInitializer,
} from "../../initializer/run.ts";
import { deployment, inProcessCoordinator, MEASUREMENT } from "../coordinator/fixture.ts";
import { ManifestVerifiers } from "../../manifest/verifiers.ts";
import { parseCoordinatorTrust } from "../../atls/coordinator_trust.ts";
import { manifestVerifiersWithCollateral } from "../../manifest/collateral_config.ts";
import { VendorLookupBudget } from "../../collateral/lookup_budget.ts";
import { startKdsStandIn } from "../../testing/snp/kds_stand_in.ts";
import { evidenceToJson } from "../../protocol/evidence_json.ts";
import { meshReportData } from "../../protocol/report_data.ts";
import { ApiPath } from "../../protocol/messages.ts";
import type { Deployment } from "../../testing/simulation/deployment.ts";

/** Runs `fn` as a test that serves HTTPS (sockets and timers outlive the sanitizers' view). */
function serverTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, sanitizeResources: false, sanitizeOps: false, fn });
}

/** A fake clock and a sleep that only advances it, recording each wait. */
function fakeTime(start = Date.UTC(2026, 11, 7, 6, 0, 0)) {
  let now = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    sleep: (ms: number) => {
      sleeps.push(ms);
      now += ms;
      return Promise.resolve();
    },
  };
}

/** A logger that keeps its JSON lines. */
function recordingLogger() {
  const lines: string[] = [];
  return {
    lines,
    logger: new Logger("initializer", { format: "json", sink: (l) => lines.push(l) }),
  };
}

function trustOf(d: Deployment) {
  const verifiers = new ManifestVerifiers();
  return {
    trust: parseCoordinatorTrust(d.coordinatorTrust()),
    verify: ((m, e, o) => verifiers.verify(m, e, o)) as Parameters<
      typeof runInitializer
    >[0]["verify"],
  };
}

/** A server that answers every request with `status`, `Retry-After: retryAfter` and `body`. */
async function answering(status: number, retryAfter: string | undefined, body: string) {
  const id = await createAttestedTlsIdentity(await generateTlsKeyPair(), undefined);
  let requests = 0;
  const s = https.createServer({ key: id.keyPem, cert: id.certPem }, (req, res) => {
    req.resume();
    req.on("end", () => {
      requests++;
      res.writeHead(status, {
        "content-type": "application/json",
        ...(retryAfter !== undefined ? { "retry-after": retryAfter } : {}),
      });
      res.end(body);
    });
  });
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  return {
    address: `127.0.0.1:${(s.address() as AddressInfo).port}`,
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((r) => {
        s.close(() => r());
        s.closeAllConnections();
      }),
  };
}

const BUDGET_BODY = JSON.stringify({
  error: "not requested: client 127.0.0.1 spent its budget of uncached vendor lookups",
  field: "https://kds.example/vcek/v1/Milan/00",
});

/** Runs the initializer against `address` until it gives up (fake time), returning the error. */
async function runUntilGivingUp(
  address: string,
  time: ReturnType<typeof fakeTime>,
  deadlineMs: number,
  logger = new Logger("initializer", { sink: () => {} }),
): Promise<InitializerFailedError> {
  const d = await deployment();
  const error = await runInitializer({
    coordinator: address,
    evidenceSource: new SimulatedSnpEvidenceSource(d.authority, { hostData: d.pods.db.digest }),
    paths: { tlsConfigDir: "/nonexistent/tls", secretsDir: "/nonexistent/s" },
    logger,
    ...trustOf(d),
    deadlineMs,
    sleep: time.sleep,
    now: time.now,
    random: () => 0,
  }).then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof InitializerFailedError, String(error));
  return error;
}

serverTest("a 429 answer carries its status and Retry-After in the typed error", async () => {
  for (
    const [status, header, body, expected] of [
      [429, "7", BUDGET_BODY, { kind: "seconds", seconds: 7 }],
      [503, "Mon, 07 Dec 2026 06:00:30 GMT", "{}", {
        kind: "date",
        epochMs: Date.UTC(2026, 11, 7, 6, 0, 30),
      }],
      // A proxy's 503 page is not JSON: still the status decides (retryable), not a parse error.
      [503, "5", "<html>service unavailable</html>", { kind: "seconds", seconds: 5 }],
      [429, "later", BUDGET_BODY, undefined],
      [429, undefined, BUDGET_BODY, undefined],
    ] as const
  ) {
    const s = await answering(status, header, body);
    const client = new PinnedHttpsClient(s.address, { timeoutMs: 10_000 });
    try {
      const error = await client.request("POST", ApiPath.meshChallenge, {}).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(error instanceof CoordinatorUnavailableError, `${status} ${String(error)}`);
      assert.equal(error.status, status);
      assert.deepEqual(error.retryAfter, expected, `${status} ${header}`);
      assert.equal(isPermanent(error), false, "retryable");
    } finally {
      client.close();
      await s.close();
    }
  }
});

serverTest(
  "waits what Retry-After asks (seconds and HTTP-date), and the backoff when it is longer",
  async () => {
    // Seconds: 7 s each time, until the deadline (30 s) would pass.
    let time = fakeTime();
    const rec = recordingLogger();
    let s = await answering(429, "7", BUDGET_BODY);
    try {
      const error = await runUntilGivingUp(s.address, time, 30_000, rec.logger);
      assert.deepEqual(time.sleeps, [7000, 7000, 7000, 7000]);
      assert.match(error.message, /gave up after 5 attempts: .*429.*\(Retry-After in 7 s\)/);
      const warned = rec.lines.filter((l) => /retrying/.test(l)).map((l) => JSON.parse(l));
      assert.equal(warned.length, 4);
      assert.equal(warned[0].status, 429);
      assert.equal(warned[0].retryAfter, "in 7 s");
      assert.equal(warned[0].retryAfterClamped, false);
      assert.equal(warned[0].retryInMs, 7000);
    } finally {
      await s.close();
    }
    // A date 20 s after the (fake) start: the first wait reaches it, the next ones are the backoff.
    time = fakeTime();
    s = await answering(503, "Mon, 07 Dec 2026 06:00:20 GMT", "{}");
    try {
      await runUntilGivingUp(s.address, time, 22_000);
      // random 0: the backoff is half of 500, 1000, 2000 … ms.
      assert.deepEqual(time.sleeps, [20_000, 500, 1000]);
    } finally {
      await s.close();
    }
    // Retry-After 0: the backoff decides.
    time = fakeTime();
    s = await answering(429, "0", BUDGET_BODY);
    try {
      await runUntilGivingUp(s.address, time, 2000);
      assert.deepEqual(time.sleeps, [250, 500, 1000]);
    } finally {
      await s.close();
    }
  },
);

serverTest(
  "a Retry-After beyond a minute waits a minute; an unreadable one is ignored",
  async () => {
    // A hostile or broken Coordinator asks for a day: the pod waits the clamp, then asks again.
    let time = fakeTime();
    const rec = recordingLogger();
    let s = await answering(429, "86400", BUDGET_BODY);
    try {
      await runUntilGivingUp(s.address, time, 150_000, rec.logger);
      assert.deepEqual(time.sleeps, [DEFAULT_MAX_RETRY_AFTER_MS, DEFAULT_MAX_RETRY_AFTER_MS]);
      assert.equal(s.requests, 3);
      const warned = JSON.parse(rec.lines.find((l) => /retrying/.test(l))!);
      assert.equal(warned.retryAfterClamped, true);
      assert.equal(warned.retryInMs, 60_000);
    } finally {
      await s.close();
    }
    time = fakeTime();
    s = await answering(503, "Fri, 31 Dec 9999 23:59:59 GMT", "{}");
    try {
      await runUntilGivingUp(s.address, time, 100_000);
      assert.deepEqual(time.sleeps, [60_000]);
    } finally {
      await s.close();
    }
    // Garbage: the backoff alone (random 0: half of 500, 1000, 2000, 4000 ms).
    time = fakeTime();
    s = await answering(429, "tomorrow", BUDGET_BODY);
    try {
      await runUntilGivingUp(s.address, time, 5000);
      assert.deepEqual(time.sleeps, [250, 500, 1000, 2000]);
    } finally {
      await s.close();
    }
  },
);

Deno.test("retryWait: the longer of jittered backoff and clamped Retry-After", () => {
  const o = {
    now: Date.UTC(2026, 11, 7, 6, 0, 0),
    initialBackoff: 500,
    maxBackoff: 10_000,
    maxRetryAfter: 60_000,
    random: () => 0.999,
  };
  const busy = (retryAfter?: CoordinatorUnavailableError["retryAfter"]) =>
    new CoordinatorUnavailableError(503, "coordinator", "busy", retryAfter);
  assert.deepEqual(retryWait(new Error("ECONNREFUSED"), 1, o), { ms: 500 });
  assert.deepEqual(retryWait(busy(), 6, o), { ms: 9995 });
  assert.deepEqual(retryWait(busy({ kind: "seconds", seconds: 3 }), 6, o), {
    ms: 9995,
    retryAfter: "in 3 s",
    clamped: false,
  });
  assert.deepEqual(retryWait(busy({ kind: "seconds", seconds: 61 }), 1, o), {
    ms: 60_000,
    retryAfter: "in 61 s",
    clamped: true,
  });
});

serverTest(
  "a pod refused 429 by a real Coordinator (its lookup budget spent) waits the Retry-After, then is served",
  async () => {
    const d = await deployment();
    const kds = await startKdsStandIn(d.authority);
    const time = fakeTime();
    // One lookup at once, one more every 10 s, on the test's clock.
    const budget = new VendorLookupBudget({ burst: 1, perMinute: 6, clock: time.now });
    const coordinator = await inProcessCoordinator(d, {
      verifiers: manifestVerifiersWithCollateral({ kdsBaseUrl: kds.base }),
      vendorLookupBudget: budget,
    });
    const out = await Deno.makeTempDir();
    try {
      await coordinator.setFirstManifest();
      // Another pod on this address spends the budget with a report naming a made-up chip.
      const client = new PinnedHttpsClient(coordinator.meshAddress);
      const leaf = await crypto.subtle.generateKey(
        { name: "ECDSA", namedCurve: "P-256" },
        true,
        ["sign"],
      ) as CryptoKeyPair;
      const leafSpki = new Uint8Array(await crypto.subtle.exportKey("spki", leaf.publicKey));
      const channelBinding = await client.bindConnection();
      const signed = await d.authority.createReport({
        reportData: await meshReportData({ channelBinding, leafSpki }),
        hostData: d.pods.web.digest,
        measurement: await MEASUREMENT,
      });
      const report = signed.report.slice();
      report.set(crypto.getRandomValues(new Uint8Array(64)), 0x1a0); // chip ID
      await assert.rejects(
        client.requestOnBinding(channelBinding, "POST", ApiPath.meshCertificate, {
          evidence: evidenceToJson({ platform: "snp", report }),
          leafPublicKey: encodeHex(leafSpki),
        }),
        (e: unknown) => e instanceof CoordinatorUnavailableError && e.status === 503,
      );
      client.close();

      // The genuine pod's evidence carries no VCEK: the Coordinator must look it up.
      const rec = recordingLogger();
      const written = await runInitializer({
        coordinator: coordinator.meshAddress,
        evidenceSource: new SimulatedSnpEvidenceSource(d.authority, {
          hostData: d.pods.web.digest,
          measurement: await MEASUREMENT,
          withoutCertificates: true,
        }),
        paths: { tlsConfigDir: `${out}/tls`, secretsDir: `${out}/secrets` },
        logger: rec.logger,
        ...trustOf(d),
        sleep: time.sleep,
        now: time.now,
        random: () => 0,
      });
      assert.equal(written.length, 5);
      // Refused once with Retry-After: 10; the one wait is those 10 s, not the 250 ms backoff.
      assert.deepEqual(time.sleeps, [10_000]);
      const warned = rec.lines.filter((l) => /retrying/.test(l)).map((l) => JSON.parse(l));
      assert.equal(warned.length, 1);
      assert.equal(warned[0].status, 429);
      assert.equal(warned[0].retryAfter, "in 10 s");
      assert.match(warned[0].reason, /spent its budget of uncached vendor lookups/);
      // Nothing secret in the log line: no key or PEM material.
      assert.doesNotMatch(rec.lines.join("\n"), /PRIVATE KEY|BEGIN CERTIFICATE/);
    } finally {
      await coordinator.close();
      await kds.close();
      await Deno.remove(out, { recursive: true });
    }
  },
);
