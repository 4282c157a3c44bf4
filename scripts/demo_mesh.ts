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
import {
  EGRESS_SANS_ENV,
  parseEgressConfig,
  parseEgressSans,
  parseIngressConfig,
} from "../protocol/mesh_config.ts";
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
  /**
   * Another meshed pod (voting), to which the host points the server's name: its certificate,
   * with the SANs generate gave its policy, must be refused by the client's egress.
   */
  readonly impostor?: GeneratedPod;
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
  // The SAN the client's proxy requires: generate qualifies the name as the resolver does.
  const expectedSan = parseEgressSans(clientEnv[EGRESS_SANS_ENV], EGRESS_SANS_ENV)
    .find((e) => e.entry === route.name)?.san ?? route.remoteHost;
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
        `mTLS (mesh CA + SAN "${expectedSan}") → ${server.name}'s ingress → ` +
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
    if (input.impostor) {
      await clientProxy.stop();
      started.splice(started.indexOf(clientProxy), 1);
      lines.push(await impostorRefused(input, route, started));
    }
  } finally {
    for (const p of started.reverse()) await p.stop();
    app.close();
  }
  return lines;
}

/**
 * The host points the server's name at the impostor pod, whose proxy serves with the certificate
 * its initializer got (the SANs of its own manifest entry): the client's egress must refuse it
 * before any byte of the client's application reaches the impostor's. Returns the line to print.
 *
 * @throws Error when the impostor's application gets the request
 */
async function impostorRefused(
  input: MeshStepInput,
  route: ReturnType<typeof parseEgressConfig>[number],
  started: MeshProxyProcess[],
): Promise<string> {
  const impostor = input.impostor!;
  const env = impostor.meshProxyEnv;
  if (!env) throw new Error(`${impostor.name} has no mesh sidecar`);
  const app = await startStandInApp(impostor.name);
  try {
    const proxy = await startMeshProxyProcess({
      env,
      tlsConfigDir: input.tlsDir(impostor),
      upstreamPorts: { [route.remotePort]: app.port },
    });
    started.push(proxy);
    const ingress = parseIngressConfig(env.EDG_INGRESS_PROXY_CONFIG, "EDG_INGRESS_PROXY_CONFIG");
    const name = (ingress.enabled ? ingress.exceptions : [])
      .find((e) => e.port === route.remotePort)?.name ?? `port-${route.remotePort}`;
    const listener = proxy.listeners.find((l) => l.direction === "ingress" && l.name === name);
    if (!listener) {
      throw new Error(`${impostor.name}'s proxy has no TLS listener for ${route.remotePort}`);
    }
    const client = await startMeshProxyProcess({
      env: input.client.meshProxyEnv!,
      tlsConfigDir: input.tlsDir(input.client),
      resolve: { [`${route.remoteHost}:${route.remotePort}`]: `127.0.0.1:${listener.port}` },
    });
    started.push(client);
    const answer = await httpGet(route.listenHost, route.listenPort).catch(() => undefined);
    if (answer !== undefined) {
      throw new Error(
        `${impostor.name} served ${route.remoteHost} to ${input.client.name}: "${answer}"`,
      );
    }
    // The proxy logs the refusal as it closes the connection; its stderr arrives a little later.
    const mismatch = () => /ERR_MESH_SAN_MISMATCH|san_mismatch/.test(client.log());
    for (let waited = 0; !mismatch() && waited < 5_000; waited += 50) {
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!mismatch()) {
      throw new Error(
        `${input.client.name}'s egress refused ${impostor.name} but logged no SAN mismatch:\n` +
          client.log(),
      );
    }
    return `${input.client.name}'s egress refuses ${impostor.name}'s certificate for ` +
      `"${route.remoteHost}" when the host points that name at ${impostor.name} (SAN mismatch; ` +
      `nothing reaches ${impostor.name}'s app)`;
  } finally {
    app.close();
  }
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
