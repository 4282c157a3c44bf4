/**
 * TLS session resumption at the ingress. Deno's `node:tls` servers share one session-ticket key
 * per process (every listener, across credential reloads) and a resumed handshake runs no
 * certificate check: the client's certificate is the one stored in the ticket. These tests resume
 * with `openssl s_client` (Deno's own client cannot resume with a client certificate) and check
 * that a resumed session is held to the listener's current mesh CA and the current time, and that
 * a ticket from a listener that asks for no certificate gives no identity on a mutual-TLS one.
 *
 * @module
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { withTempDir } from "../helpers/temp_dir.ts";
import { issuePod, meshAuthority, writePodFiles } from "../../bench/meshproxy/credentials.ts";
import { inboundPort, podDir, startHttpApp, startProxy } from "./helpers.ts";
import { whyNoOpenssl } from "../helpers/openssl.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

/** What one `openssl s_client` connection saw. */
interface Exchange {
  /** Whether the handshake resumed the session given (`Reused, TLSv1.3`). */
  readonly reused: boolean;
  /** The test application's answer, when one arrived. */
  readonly answer?: { identities: string[] };
}

/**
 * One connection with `openssl s_client`: with a client certificate (`cert`/`key` files) or a
 * session to resume (`sessionIn`); saves the session the server issues to `sessionOut` (waits for
 * its ticket); sends one HTTP request and waits for the answer unless `request` is false (or for
 * openssl to exit when the proxy closes; at most 30 s, a limit for broken runs only).
 */
async function exchange(
  port: number,
  options: {
    cert?: string;
    key?: string;
    sessionIn?: string;
    sessionOut?: string;
    request?: boolean;
  },
): Promise<Exchange> {
  const args = ["s_client", "-connect", `127.0.0.1:${port}`, "-ign_eof"];
  if (options.cert) args.push("-cert", options.cert, "-key", options.key!);
  if (options.sessionIn) args.push("-sess_in", options.sessionIn);
  if (options.sessionOut) args.push("-sess_out", options.sessionOut);
  const child = new Deno.Command("openssl", {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const writer = child.stdin.getWriter();
  if (options.request !== false) {
    await writer.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: web\r\n\r\n"));
  }
  let text = "";
  let exited = false;
  child.status.then(() => exited = true);
  const reading = (async () => {
    const decoder = new TextDecoder("latin1");
    for await (const chunk of child.stdout) text += decoder.decode(chunk);
  })();
  const deadline = Date.now() + 30_000;
  const answered = () => /\{"identities".*\}/.test(text);
  const ticketSaved = async () => {
    if (!options.sessionOut) return true;
    try {
      return (await Deno.stat(options.sessionOut)).size > 0;
    } catch {
      return false;
    }
  };
  while (Date.now() < deadline && !exited) {
    const done = options.request === false ? await ticketSaved() : answered();
    if (done && await ticketSaved()) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  try {
    child.kill("SIGTERM");
  } catch { /* already exited */ }
  await child.status;
  await reading.catch(() => {});
  await writer.close().catch(() => {});
  const json = /\{"identities".*\}/.exec(text)?.[0];
  return { reused: /^Reused, /m.test(text), ...(json ? { answer: JSON.parse(json) } : {}) };
}

Deno.test({
  name:
    "ingress: a resumed TLS session is held to the current mesh CA and time; a ticket from a `false` port gives no identity",
  ...opts,
  fn: async () => {
    const why = await whyNoOpenssl();
    if (why) {
      console.warn(`\n!!! SKIPPED session resumption test: no openssl (${why}) !!!\n`);
      return;
    }
    await withTempDir(async (root) => {
      const ca = await meshAuthority();
      const serverDir = await podDir(root, "web", await issuePod(ca, ["web", "*"]));
      const http = await startHttpApp();
      const server = await startProxy(
        { podPorts: "7000", ingress: "open#7001#false" },
        serverDir,
        { upstreamPorts: new Map([[7000, http.port], [7001, http.port]]) },
      );
      const mtls = inboundPort(server, "port-7000");
      const open = inboundPort(server, "open");
      const file = async (name: string, text: string) => {
        await Deno.writeTextFile(`${root}/${name}`, text);
        return `${root}/${name}`;
      };
      const failures = () =>
        server.metrics.get("meshproxy_handshake_failures_total", {
          direction: "ingress",
          listener: "port-7000",
          reason: "untrusted_certificate",
        });
      try {
        const bot = await issuePod(ca, ["bot"]);
        const botCert = await file("bot.pem", bot.certChain);
        const botKey = await file("bot.key", bot.key);

        // A session of a valid client resumes and keeps its identity (the tests below resume).
        const first = await exchange(mtls, {
          cert: botCert,
          key: botKey,
          sessionOut: `${root}/bot.session`,
        });
        assert.match(first.answer?.identities[0] ?? "", /DNS=bot$/, JSON.stringify(first));
        const resumed = await exchange(mtls, { sessionIn: `${root}/bot.session` });
        assert.ok(resumed.reused, "openssl resumed the session");
        assert.match(resumed.answer?.identities[0] ?? "", /DNS=bot$/, JSON.stringify(resumed));

        // A ticket of the `false` port (no client certificate) resumes on the mTLS port at the
        // TLS layer (one ticket key per process) but carries no certificate: refused.
        await exchange(open, { sessionOut: `${root}/open.session`, request: false });
        const cross = await exchange(mtls, { sessionIn: `${root}/open.session` });
        assert.equal(cross.answer, undefined, `no identity: ${JSON.stringify(cross)}`);

        // A certificate that expires: its session must not outlive it. (Its first connection
        // must be served before it expires: 6 s leave room on a loaded machine.)
        const briefNotAfter = new Date(Date.now() + 6_000);
        const brief = await issuePod(ca, ["brief"], { notAfter: briefNotAfter });
        const briefAnswer = await exchange(mtls, {
          cert: await file("brief.pem", brief.certChain),
          key: await file("brief.key", brief.key),
          sessionOut: `${root}/brief.session`,
        });
        assert.match(briefAnswer.answer?.identities[0] ?? "", /DNS=brief$/);
        // Until it has expired (X.509 times are whole seconds).
        await new Promise((r) => setTimeout(r, briefNotAfter.getTime() + 1_000 - Date.now()));
        const before = failures();
        const afterExpiry = await exchange(mtls, { sessionIn: `${root}/brief.session` });
        assert.equal(
          afterExpiry.answer,
          undefined,
          `expired certificate resumed: ${JSON.stringify(afterExpiry)}`,
        );
        assert.equal(failures(), before + 1, server.metrics.render());

        // A manifest update rotates the mesh CA: a session of the old CA must not resume.
        const rotated = await ca.rotateMeshCa();
        await writePodFiles(serverDir, await issuePod(rotated, ["web", "*"]));
        await waitFor(() =>
          server.metrics.get("meshproxy_credential_reloads_total", { result: "accepted" }) >= 2
        );
        const revoked = await exchange(mtls, { sessionIn: `${root}/bot.session` });
        assert.equal(
          revoked.answer,
          undefined,
          `old mesh CA resumed after rotation: ${JSON.stringify(revoked)}`,
        );
        assert.equal(failures(), before + 2, server.metrics.render());

        // The new CA's clients still resume.
        const fresh = await issuePod(rotated, ["bot2"]);
        await exchange(mtls, {
          cert: await file("bot2.pem", fresh.certChain),
          key: await file("bot2.key", fresh.key),
          sessionOut: `${root}/bot2.session`,
        });
        const again = await exchange(mtls, { sessionIn: `${root}/bot2.session` });
        assert.ok(again.reused);
        assert.match(again.answer?.identities[0] ?? "", /DNS=bot2$/, JSON.stringify(again));
      } finally {
        await server.close();
        await http.close();
      }
    });
  },
});

async function waitFor(check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}
