/**
 * The ingress classifies a connection by the client's first bytes whenever they arrive (never by
 * a timer) and rewrites every HTTP request head: a mesh peer (or, on a TLS port without client
 * certificates, anyone) cannot hand the application a forged `X-Forwarded-Client-Cert`.
 * The application here echoes every byte, so a test sees exactly what reached it.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import net from "node:net";
import tls from "node:tls";
import { withTempDir } from "../helpers/temp_dir.ts";
import { issuePod, issuePodWithSans, meshAuthority } from "../../bench/meshproxy/credentials.ts";
import type { SubjectAltName } from "../../manifest/sans.ts";
import { podDir, startEchoApp } from "./helpers.ts";
import { IngressListener } from "../../meshproxy/ingress.ts";
import { listenerLimits } from "../../meshproxy/limits.ts";
import { loadCredentials } from "../../meshproxy/credentials.ts";
import { ProxyMetrics } from "../../meshproxy/metrics.ts";
import { Logger } from "../../util/log/logger.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const FORGED = "Hash=forged;URI=spiffe://victim";

/** One step of a client: bytes to send, or a pause. */
/**
 * What a client does: send bytes, pause, wait until it has received `untilReceived` characters
 * (the echo app's answer), or until the proxy has forwarded `untilForwarded` bytes to the
 * application (so that what follows arrives in a read of its own, however loaded the machine;
 * polled, at most 30 s, or the connection closed).
 */
type Step =
  | string
  | Uint8Array
  | { readonly pauseMs: number }
  | { readonly untilReceived: number }
  | { readonly untilForwarded: number };

interface Setup {
  readonly port: number;
  readonly metrics: ProxyMetrics;
  readonly client: { key?: string; cert?: string; ca: string };
}

/** Registers the test `name` (sanitizers off): `fn` against a fresh ingress listener in `mode`. */
function ingressTest(name: string, mode: "mtls" | "tls", fn: (s: Setup) => Promise<void>): void {
  Deno.test({ name, ...opts, fn: () => withIngress(mode, fn) });
}

/** Runs `fn` against an ingress listener in front of `appPort` (an echo app by default). */
function withIngress(
  mode: "mtls" | "tls",
  fn: (s: Setup) => Promise<void>,
  extra: { appPort?: number; botSans?: readonly SubjectAltName[] } = {},
): Promise<void> {
  return withTempDir(async (root) => {
    const echo = await startEchoApp();
    const ca = await meshAuthority();
    const dir = await podDir(root, "web", await issuePod(ca, ["web"]));
    const bot = extra.botSans
      ? await issuePodWithSans(ca, extra.botSans)
      : await issuePod(ca, ["bot"]);
    const metrics = new ProxyMetrics();
    const listener = new IngressListener({
      name: "p",
      mode,
      listenHost: "127.0.0.1",
      listenPort: 0,
      upstreamHost: "127.0.0.1",
      upstreamPort: extra.appPort ?? echo.port,
      credentials: await loadCredentials(dir),
      metrics,
      logger: new Logger("t", { level: "error" }),
      limits: listenerLimits({}, 1),
    });
    await listener.start();
    try {
      const client = mode === "mtls"
        ? { key: bot.key, cert: bot.certChain, ca: bot.meshCa }
        : { ca: bot.meshCa };
      await fn({ port: listener.port, metrics, client });
    } finally {
      await listener.close();
      await echo.close();
    }
  });
}

/** Connects, performs `steps`, half-closes, returns everything received until the close. */
async function exchange(s: Setup, steps: readonly Step[]): Promise<string> {
  const socket = tls.connect({
    host: "127.0.0.1",
    port: s.port,
    ...s.client,
    checkServerIdentity: () => undefined,
  });
  let got = "";
  let isClosed = false;
  socket.on("data", (c: Uint8Array) => got += new TextDecoder("latin1").decode(c));
  socket.on("error", () => {});
  const closed = new Promise((r) =>
    socket.on("close", () => {
      isClosed = true;
      r(undefined);
    })
  );
  await new Promise((r) => socket.once("secureConnect", r));
  for (const step of steps) {
    if (typeof step === "object" && "pauseMs" in step) {
      await new Promise((r) => setTimeout(r, step.pauseMs));
    } else if (typeof step === "object" && "untilReceived" in step) {
      const started = Date.now();
      while (got.length < step.untilReceived && !isClosed && Date.now() - started < 30_000) {
        await new Promise((r) => setTimeout(r, 10));
      }
    } else if (typeof step === "object" && "untilForwarded" in step) {
      const forwarded = () =>
        s.metrics.get("meshproxy_bytes_total", {
          direction: "ingress",
          listener: "p",
          flow: "from_peer",
        });
      const started = Date.now();
      while (forwarded() < step.untilForwarded && !isClosed && Date.now() - started < 30_000) {
        await new Promise((r) => setTimeout(r, 10));
      }
    } else socket.write(step);
  }
  socket.end();
  await closed;
  return got;
}

/** The identity headers in what the echo app got back. */
function identities(echoed: string): string[] {
  return echoed.split("\r\n").filter((l) => /^x-forwarded-client-cert/i.test(l));
}

const refusals = (m: ProxyMetrics, reason: string) =>
  m.get("meshproxy_http_refusals_total", { direction: "ingress", listener: "p", reason });

ingressTest(
  "a request line sent in pieces (GE, pause, rest) is still rewritten",
  "mtls",
  async (s) => {
    const got = await exchange(s, [
      "GE",
      { untilForwarded: 2 }, // "GE" went on by itself: the rest comes in another read
      `T / HTTP/1.1\r\nHost: web\r\nX-Forwarded-Client-Cert: ${FORGED}\r\n\r\n`,
    ]);
    assert.doesNotMatch(got, /forged/);
    assert.deepEqual(identities(got).length, 1);
    assert.match(identities(got)[0]!, /^X-Forwarded-Client-Cert: Hash=[0-9a-f]{64};.*DNS=bot/);
  },
);

ingressTest("leading blank lines before the request line do not make it TCP", "mtls", async (s) => {
  const request = `GET / HTTP/1.1\r\nHost: web\r\nX-Forwarded-Client-Cert: ${FORGED}\r\n\r\n`;
  for (const lead of ["\r\n", "\r\n\r\n\r\n", " \t"]) {
    const got = await exchange(s, [lead, { pauseMs: 100 }, request]);
    assert.doesNotMatch(got, /forged/, JSON.stringify(lead));
    // Blank lines are dropped and the request rewritten; other leading blanks close.
    assert.equal(identities(got).length, lead.trim() === "" && lead[0] === "\r" ? 1 : 0);
  }
  // A lone CR or LF before it is not a blank line a strict parser skips: closed before the
  // end of the request line went on.
  for (const lead of ["\r", "\n", "\r\n\r"]) {
    const got = await exchange(s, [lead + request]);
    assert.doesNotMatch(got, /HTTP\/1\.1\r\n|forged/, JSON.stringify(lead));
  }
});

ingressTest("a request sent one byte at a time with pauses is rewritten", "mtls", async (s) => {
  const request = `\r\nGET / HTTP/1.1\r\nx-forwarded-client-cert: ${FORGED}\r\n\r\n`;
  const steps: Step[] = [];
  for (const c of request) steps.push(c, { pauseMs: 3 });
  const got = await exchange(s, steps);
  assert.doesNotMatch(got, /forged/);
  assert.equal(identities(got).length, 1);
});

ingressTest(
  "pipelined keep-alive requests: every forged copy removed, each request gets one",
  "mtls",
  async (s) => {
    const got = await exchange(s, [
      `GET /1 HTTP/1.1\r\nX-Forwarded-Client-Cert: ${FORGED}\r\n\r\n` +
      `POST /2 HTTP/1.1\r\nContent-Length: 3\r\nX-FORWARDED-CLIENT-CERT: ${FORGED}\r\n` +
      `x-forwarded-client-cert: ${FORGED}\r\n\r\nabc\r\n`,
      { pauseMs: 50 },
      `GET /3 HTTP/1.1\r\nX-Forwarded-Client-Cert: ${FORGED}\r\n\r\n`,
    ]);
    assert.doesNotMatch(got, /forged/);
    assert.equal(identities(got).length, 3);
    // The body is intact; the blank line after it is dropped (as servers skip it).
    assert.match(got, /\r\n\r\nabcGET \/3/);
  },
);

ingressTest(
  "smuggling attempts close the connection before the hidden head reaches the app",
  "mtls",
  async (s) => {
    const hidden = `GET /h HTTP/1.1\r\nX-Forwarded-Client-Cert: ${FORGED}\r\n\r\n`;
    for (
      const attempt of [
        `POST / HTTP/1.1\r\nContent-Length: ${hidden.length}\r\n` +
        `Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n${hidden}`,
        `POST / HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: ${hidden.length}\r\n\r\n${hidden}`,
        `GET / HTTP/1.1\nHost: web\n\n${hidden}`,
        `GET / HTTP/1.1\r\nHost: web\r\nbroken\r\n\r\n${hidden}`,
      ]
    ) {
      const got = await exchange(s, [attempt]);
      assert.doesNotMatch(got, /forged/, attempt.slice(0, 50));
    }
    assert.equal(refusals(s.metrics, "http_framing"), 4);
  },
);

ingressTest(
  "TLS port without client certificates: the client's identity header is removed",
  "tls",
  async (s) => {
    const got = await exchange(s, [
      "G",
      { untilForwarded: 1 },
      `ET / HTTP/1.1\r\nX-Forwarded-Client-Cert: ${FORGED}\r\nHost: web\r\n\r\n` +
      `\r\nGET / HTTP/1.1\r\nX-Forwarded-Client-Cert: ${FORGED}\r\n\r\n`,
    ]);
    assert.doesNotMatch(got, /forged/);
    assert.equal(identities(got).length, 0, "no peer certificate: nothing to vouch for");
    assert.equal(got.split("GET / HTTP/1.1\r\n").length, 3);
  },
);

Deno.test({
  name: "a protocol where the server speaks first still works (greeting, then client answer)",
  ...opts,
  fn: async () => {
    const greeter = net.createServer({ allowHalfOpen: true }, (socket) => {
      socket.write("220 mail.example ESMTP ready\r\n");
      socket.on("error", () => {});
      socket.pipe(socket);
    });
    await new Promise<void>((r) => greeter.listen(0, "127.0.0.1", () => r()));
    const appPort = (greeter.address() as net.AddressInfo).port;
    try {
      await withIngress("mtls", async (s) => {
        const socket = tls.connect({
          host: "127.0.0.1",
          port: s.port,
          ...s.client,
          checkServerIdentity: () => undefined,
        });
        socket.on("error", () => {});
        let got = "";
        const greeting = new Promise<void>((resolve) =>
          socket.on("data", (c: Uint8Array) => {
            got += new TextDecoder().decode(c);
            if (got.includes("ready\r\n")) resolve();
          })
        );
        await greeting;
        assert.equal(got, "220 mail.example ESMTP ready\r\n", "greeting before any client byte");
        socket.write("EHLO client.example\r\n");
        await new Promise<void>((resolve) => {
          const check = () => got.includes("EHLO client.example\r\n") && resolve();
          socket.on("data", check);
          check();
        });
        socket.destroy();
      }, { appPort });
    } finally {
      await new Promise((r) => greeter.close(r));
    }
  },
});

ingressTest(
  "a client-speaks-first binary protocol passes untouched, also one that starts like text",
  "mtls",
  async (s) => {
    const binary = new Uint8Array(100_000);
    crypto.getRandomValues(binary.subarray(0, 65_536));
    crypto.getRandomValues(binary.subarray(65_536));
    binary[0] = 0; // a Postgres-style length prefix
    const got = await exchange(s, [binary]);
    assert.equal(got, new TextDecoder("latin1").decode(binary));
    const text = "*1\r\n$4\r\nPING\r\nX-Forwarded-Client-Cert: kept\r\n\r\n";
    assert.equal(await exchange(s, [text]), text);
  },
);

ingressTest(
  "a first line without an end goes on as it arrives; an over-long request line closes",
  "mtls",
  async (s) => {
    // A short client-first message without a line end is answered at once (no timer).
    const socket = tls.connect({
      host: "127.0.0.1",
      port: s.port,
      ...s.client,
      checkServerIdentity: () => undefined,
    });
    socket.on("error", () => {});
    const echoed = new Promise<string>((resolve) =>
      socket.once("data", (c: Uint8Array) => resolve(new TextDecoder().decode(c)))
    );
    socket.write("PING");
    assert.equal(await echoed, "PING");
    socket.destroy();
    // A request line longer than the rewrite keeps: its bytes go on as they arrive (their
    // echo comes back before its end is sent; a 50 ms pause instead lost the race under
    // load, got ""), closed at its end, headers never sent.
    const long = `GET /${"a".repeat(70_000)} HTTP/1.1`;
    const got = await exchange(s, [
      long,
      { untilReceived: long.length },
      `\r\nX-Forwarded-Client-Cert: ${FORGED}\r\n\r\n`,
    ]);
    assert.equal(got, long, "only the line's bytes before its end went on");
    assert.equal(refusals(s.metrics, "head_too_large"), 1);
  },
);

/** Runs `fn` with a loopback Deno.serve app answering with `handler`, shut down afterwards. */
async function withDenoServeApp(
  handler: (request: Request) => Response,
  fn: (appPort: number) => Promise<void>,
): Promise<void> {
  const app = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
  try {
    await fn(app.addr.port);
  } finally {
    await app.shutdown();
  }
}

Deno.test({
  name: "a real HTTP server (Deno.serve) sees only the proxy's identity for both reproducers",
  ...opts,
  fn: async () => {
    const echo = (request: Request) =>
      new Response(`seen=${request.headers.get("x-forwarded-client-cert")}\n`);
    await withDenoServeApp(echo, async (appPort) => {
      await withIngress("mtls", async (s) => {
        const request = `T / HTTP/1.1\r\nHost: web\r\nConnection: close\r\n` +
          `X-Forwarded-Client-Cert: ${FORGED}\r\n\r\n`;
        for (const steps of [["GE", { untilForwarded: 2 }, request], [`\r\nGE${request}`]]) {
          const got = await exchange(s, steps);
          assert.match(got, /^HTTP\/1\.1 200/);
          assert.match(got, /seen=Hash=[0-9a-f]{64};Subject="[^"]*";DNS=bot\n$/);
        }
      }, { appPort });
    });
  },
});

Deno.test({
  name: "CONNECT is refused: a catch-all Deno.serve app never sees a forged identity after it",
  ...opts,
  fn: async () => {
    // Answers 200 to anything, CONNECT included (hyper then keeps parsing HTTP on the stream).
    const seen: string[] = [];
    const app = (request: Request) => {
      seen.push(`${request.method} ${request.headers.get("x-forwarded-client-cert")}`);
      return new Response("ok\n");
    };
    await withDenoServeApp(app, async (appPort) => {
      for (const mode of ["mtls", "tls"] as const) {
        await withIngress(mode, async (s) => {
          const got = await exchange(s, [
            "CONNECT web:443 HTTP/1.1\r\nHost: web:443\r\n\r\n",
            { pauseMs: 300 },
            `GET /admin HTTP/1.1\r\nHost: web\r\nX-Forwarded-Client-Cert: ${FORGED}\r\n\r\n`,
          ]);
          // Closed before the CONNECT head was complete: the app answered nothing.
          assert.equal(got, "", mode);
          assert.equal(refusals(s.metrics, "connect"), 1, mode);
          assert.equal(refusals(s.metrics, "http_framing"), 0, mode);
        }, { appPort });
      }
    });
    assert.deepEqual(seen, [], "no request (CONNECT or forged) reached the application");
  },
});

Deno.test({
  name: "a peer SAN that is not printable ASCII closes the connection (no header injection)",
  ...opts,
  fn: async () => {
    const seen: string[] = [];
    const app = (request: Request) => {
      seen.push(`${request.headers.get("x-forwarded-client-cert")}`);
      return new Response("ok\n");
    };
    await withDenoServeApp(app, async (appPort) => {
      // U+010D U+010A would become CR LF if truncated to bytes.
      const botSans: SubjectAltName[] = [
        { kind: "dns", value: "bot" },
        { kind: "uri", value: "spiffe://x/a\u010d\u010aX-Forwarded-Client-Cert: forged" },
      ];
      await withIngress("mtls", async (s) => {
        const got = await exchange(s, ["GET / HTTP/1.1\r\nHost: web\r\n\r\n"]);
        assert.doesNotMatch(got, /HTTP\/1\.1 200/);
        assert.equal(refusals(s.metrics, "peer_identity"), 1);
      }, { appPort, botSans });
      // SAN text with `;` and `=` is quoted: no second DNS entry appears.
      const quoted: SubjectAltName[] = [{ kind: "uri", value: "spiffe://x/a;DNS=coordinator" }];
      await withIngress("mtls", async (s) => {
        const got = await exchange(s, ["GET / HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n"]);
        assert.match(got, /^HTTP\/1\.1 200/);
      }, { appPort, botSans: quoted });
    });
    assert.equal(seen.length, 1, "only the quoted request reached the application");
    assert.match(seen[0]!, /;URI="spiffe:\/\/x\/a;DNS=coordinator"$/);
  },
});
