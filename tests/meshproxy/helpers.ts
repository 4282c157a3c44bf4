/**
 * Test helpers: a stand-in application (TCP echo and an HTTP server that reports the identity
 * header it got), TLS clients, proxies in explicit mode on loopback.
 *
 * @module
 */
import net from "node:net";
import tls from "node:tls";
import { Logger } from "../../util/log/logger.ts";
import { MeshProxy, type MeshProxyOptions } from "../../meshproxy/proxy.ts";
import { ENV_SOURCES, parseMeshConfig, type RawMeshConfig } from "../../protocol/mesh_config.ts";
import type { PodFiles } from "../../bench/meshproxy/credentials.ts";

/** A server on an ephemeral loopback port. */
interface TestServer {
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: () => number;
  /** Bytes received so far (echo app only). */
  readonly received?: () => number;
  close(): Promise<void>;
}

function listen(server: net.Server, host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, host, () => resolve((server.address() as net.AddressInfo).port))
  );
}

/** An application that answers each HTTP request with the identity header it received. */
export async function startHttpApp(): Promise<TestServer> {
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted++;
    let buf = "";
    socket.on("data", (chunk) => {
      buf += chunk.toString("latin1");
      for (;;) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = buf.slice(0, end);
        const lengthMatch = /\r\ncontent-length: *(\d+)/i.exec(head);
        const bodyLength = lengthMatch ? Number(lengthMatch[1]) : 0;
        if (buf.length < end + 4 + bodyLength) return;
        const body = buf.slice(end + 4, end + 4 + bodyLength);
        buf = buf.slice(end + 4 + bodyLength);
        const identities = head.split("\r\n").filter((l) =>
          l.toLowerCase().startsWith("x-forwarded-client-cert:")
        );
        const answer = JSON.stringify({ identities, body, line: head.split("\r\n")[0] });
        socket.write(
          `HTTP/1.1 200 OK\r\ncontent-length: ${answer.length}\r\n\r\n${answer}`,
        );
      }
    });
    socket.on("error", () => {});
  });
  const port = await listen(server);
  return {
    port,
    accepted: () => accepted,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** An application that echoes every byte. */
export async function startEchoApp(): Promise<TestServer> {
  let accepted = 0;
  let received = 0;
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    accepted++;
    socket.on("data", (c) => received += c.length);
    socket.on("error", () => {});
    socket.pipe(socket);
  });
  const port = await listen(server);
  return {
    port,
    accepted: () => accepted,
    received: () => received,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** Sends `data` over plain TCP, half-closes, and collects everything until the peer closes. */
export function plainExchange(host: string, port: number, data: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, allowHalfOpen: true }, () => socket.end(data));
    let text = "";
    socket.on("data", (c) => text += c.toString("latin1"));
    socket.on("close", () => resolve(text));
    socket.on("error", () => {}); // a reset ends the exchange like a close
  });
}

/** Sends one HTTP request over plain TCP and returns the parsed JSON answer of the test app. */
export function plainHttp(
  host: string,
  port: number,
  request: string,
): Promise<{ identities: string[]; body: string; line: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port }, () => socket.write(request));
    let text = "";
    socket.on("data", (c) => {
      text += c.toString("latin1");
      const end = text.indexOf("\r\n\r\n");
      const m = /content-length: (\d+)/.exec(text);
      if (end >= 0 && m && text.length >= end + 4 + Number(m[1])) {
        socket.destroy();
        resolve(JSON.parse(text.slice(end + 4, end + 4 + Number(m[1]))));
      }
    });
    socket.on("close", () => reject(new Error(`closed after "${text}"`)));
    socket.on("error", reject);
  });
}

/** Outcome of a TLS client attempt. */
interface TlsOutcome {
  /** Bytes received before the connection closed. */
  readonly received: string;
  /** The error, if the connection failed. */
  readonly error?: string;
}

/** Connects with TLS (client certificate optional), sends `data`, collects the answer. */
export function tlsExchange(
  port: number,
  data: string,
  client: { key?: string; cert?: string; ca: string; servername?: string },
): Promise<TlsOutcome> {
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: "127.0.0.1",
      port,
      servername: client.servername ?? "localhost",
      key: client.key,
      cert: client.cert,
      ca: client.ca,
      checkServerIdentity: () => undefined,
    }, () => socket.write(data));
    let received = "";
    let error: string | undefined;
    socket.on("data", (c) => {
      received += c.toString("latin1");
      if (received.length >= data.length) socket.end();
    });
    socket.on("error", (e) => error = `${(e as { code?: string }).code ?? ""} ${e.message}`);
    socket.on("close", () => resolve({ received, ...(error ? { error } : {}) }));
  });
}

/** Starts a proxy in explicit mode on loopback for a pod whose files are in `dir`. */
export async function startProxy(
  raw: RawMeshConfig,
  dir: string,
  extra: Partial<MeshProxyOptions> = {},
): Promise<MeshProxy> {
  const proxy = new MeshProxy({
    config: parseMeshConfig(raw, ENV_SOURCES),
    tlsConfigDir: dir,
    transparent: false,
    inboundHost: "127.0.0.1",
    inboundPortBase: 0,
    adminHost: "127.0.0.1",
    credentialsWaitMs: 5_000,
    reloadIntervalMs: 200,
    logger: new Logger("meshproxy-test", {
      level: (Deno.env.get("MESH_TEST_LOG") ?? "error") as "error",
    }),
    ...extra,
  });
  await proxy.start();
  return proxy;
}

/** The inbound listener port of the proxy for listener `name`. */
export function inboundPort(proxy: MeshProxy, name: string): number {
  const l = proxy.listeners().find((x) => x.direction === "ingress" && x.name === name);
  if (!l) throw new Error(`no ingress listener ${name}`);
  return Number(l.listen.split(":").at(-1));
}

/** Writes files into a fresh folder below `root`. */
export async function podDir(root: string, name: string, files: PodFiles): Promise<string> {
  const { writePodFiles } = await import("../../bench/meshproxy/credentials.ts");
  const dir = `${root}/${name}`;
  await writePodFiles(dir, files);
  return dir;
}
