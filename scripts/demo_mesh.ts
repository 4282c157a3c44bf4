/**
 * The demo's service-mesh step: the generated pods talk through contrast's own mesh proxy
 * (`meshproxy/`), started as real processes with the environment `contrast generate` gave their
 * sidecars, on the credentials their initializers received. web's application calls emoji
 * through web's egress listener; the bytes cross mutual TLS (mesh CA + SAN checked both ways)
 * into emoji's ingress, which hands them to emoji's application together with web's identity
 * (`X-Forwarded-Client-Cert`). A client with a self-made certificate is refused at the
 * handshake, and a pod whose initializer got no certificate has a proxy that never serves.
 *
 * @module
 */
import net from "node:net";
import tls from "node:tls";
import { createAttestedTlsIdentity, generateTlsKeyPair } from "../atls/certificate.ts";
import { parseEgressConfig } from "../protocol/mesh_config.ts";
import type { GeneratedPod } from "../testing/simulation/generated_pods.ts";
import {
  type MeshProxyProcess,
  runMeshProxyUntilExit,
  startMeshProxyProcess,
} from "../testing/simulation/mesh_proxy.ts";

/** A stand-in application: answers each HTTP request with the peer identity it was given. */
async function startStandInApp(name: string): Promise<{ port: number; close: () => void }> {
  const server = net.createServer((socket) => {
    let head = "";
    socket.on("data", (chunk) => {
      head += chunk.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      const identity = /\r\nX-Forwarded-Client-Cert: ([^\r]*)/i.exec(head)?.[1] ?? "none";
      const peers = [...identity.matchAll(/DNS=([^;]+)/g)].map((m) => m[1]).join(",");
      const body = `hello from ${name}, you are [${peers}]`;
      socket.end(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
    });
    socket.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

/** GET / over plain TCP; returns the body. */
function httpGet(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port }, () => socket.write("GET / HTTP/1.1\r\n\r\n"));
    let text = "";
    socket.on("data", (c) => text += c.toString("latin1"));
    socket.on("close", () => {
      const body = text.split("\r\n\r\n")[1];
      body ? resolve(body) : reject(new Error(`no answer (got "${text}")`));
    });
    socket.on("error", reject);
  });
}

/** Whether a TLS client with `identity` gets any application byte back from `port`. */
function outsiderGetsThrough(port: number, identity: { key: string; cert: string }) {
  return new Promise<boolean>((resolve) => {
    const socket = tls.connect({
      host: "127.0.0.1",
      port,
      key: identity.key,
      cert: identity.cert,
      rejectUnauthorized: false,
    }, () => socket.write("GET / HTTP/1.1\r\n\r\n"));
    let got = false;
    socket.on("data", () => got = true);
    socket.on("error", () => {});
    socket.on("close", () => resolve(got));
    setTimeout(() => socket.destroy(), 5_000);
  });
}

/** What the step needs from the demo. */
interface MeshStepInput {
  /** The calling pod (web) and the called pod (emoji). */
  readonly client: GeneratedPod;
  readonly server: GeneratedPod;
  /** A pod's `tls-config` folder. */
  readonly tlsDir: (pod: GeneratedPod) => string;
}

/** Runs the step; returns the lines to print (each a finding). Stops every process it started. */
export async function demoMeshStep(input: MeshStepInput): Promise<string[]> {
  const { client, server } = input;
  const clientEnv = client.meshProxyEnv;
  const serverEnv = server.meshProxyEnv;
  if (!clientEnv || !serverEnv) throw new Error("the pods have no mesh sidecar");
  const egress = parseEgressConfig(clientEnv.EDG_EGRESS_PROXY_CONFIG, "EDG_EGRESS_PROXY_CONFIG");
  const route = egress.find((e) => e.name === server.name) ?? egress[0];
  if (!route) throw new Error(`${client.name} has no egress entry`);
  const lines: string[] = [];
  const app = await startStandInApp(server.name);
  const started: MeshProxyProcess[] = [];
  try {
    const serverProxy = await startMeshProxyProcess({
      env: serverEnv,
      tlsConfigDir: input.tlsDir(server),
      upstreamPorts: { [route.remotePort]: app.port },
    });
    started.push(serverProxy);
    const ingress = serverProxy.listeners.find((l) =>
      l.direction === "ingress" && l.name === `port-${route.remotePort}`
    );
    if (!ingress) {
      throw new Error(`${server.name}'s proxy has no mTLS listener for ${route.remotePort}`);
    }
    const clientProxy = await startMeshProxyProcess({
      env: clientEnv,
      tlsConfigDir: input.tlsDir(client),
      resolve: { [`${route.remoteHost}:${route.remotePort}`]: `127.0.0.1:${ingress.port}` },
    });
    started.push(clientProxy);
    const answer = await httpGet(route.listenHost, route.listenPort);
    lines.push(
      `${client.name} app → ${client.name}'s egress ${route.listenHost}:${route.listenPort} → ` +
        `mTLS (mesh CA + SAN "${route.remoteHost}") → ${server.name}'s ingress → ` +
        `${server.name} app: "${answer}"`,
    );
    const outsider = await createAttestedTlsIdentity(
      await generateTlsKeyPair(),
      undefined,
      "outsider",
    );
    const through = await outsiderGetsThrough(ingress.port, {
      key: outsider.keyPem,
      cert: outsider.certPem,
    });
    if (through) throw new Error("a client without a mesh certificate got an answer");
    lines.push(
      `a client with a self-made certificate is refused at ${server.name}'s handshake ` +
        `(nothing reaches the app)`,
    );
  } finally {
    for (const p of started.reverse()) await p.stop();
    app.close();
  }
  return lines;
}

/**
 * Starts `pod`'s proxy on a `tls-config` folder its initializer never filled; returns the line
 * to print.
 *
 * @throws Error when the proxy serves anyway
 */
export async function demoProxyWithoutCertificate(
  pod: GeneratedPod,
  tlsConfigDir: string,
): Promise<string> {
  const result = await runMeshProxyUntilExit({
    env: pod.meshProxyEnv ?? {},
    tlsConfigDir,
    credentialsWaitSeconds: 2,
  });
  if (result.code === 0 || result.log.includes("unexpectedly served")) {
    throw new Error(`a proxy without credentials served:\n${result.log}`);
  }
  const reason = /"error":"([^"]*)"/.exec(result.log)?.[1] ?? "no valid mesh credentials";
  return `its mesh proxy never serves (exit ${result.code}): ${reason}`;
}
