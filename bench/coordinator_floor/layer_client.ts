/**
 * The client side of `ratio.ts`: `connections` TLS connections to `layer_server.ts` (or a
 * `bare_server.ts`; plain TCP with a fourth argument `plain`), `inFlight` at a time, each shaped
 * like a pod's mesh attestation (one full TLS 1.3 handshake, then `POST /mesh/certificate` with
 * the real body size on that connection, whose channel binding the pod's evidence binds, then
 * close). Fails (exit 1) on any answer but 200 with the expected length, so the server is
 * measured on the path it names. Prints `{"connections":…,"ms":…}`.
 *
 * Usage: `deno run -A bench/coordinator_floor/layer_client.ts PORT CONNECTIONS IN_FLIGHT [plain]`
 *
 * @module
 */
import net from "node:net";
import tls from "node:tls";
import { CERTIFICATE_ANSWER_BYTES, CERTIFICATE_REQUEST_BYTES } from "./shape.ts";

const [port, connections, inFlight] = Deno.args.slice(0, 3).map(Number);
const plain = Deno.args[3] === "plain";
if (!port || !connections || !inFlight) {
  throw new Error("usage: layer_client.ts PORT CONNECTIONS IN_FLIGHT");
}
const STEPS = [
  {
    path: "/mesh/certificate",
    body: `{"x":"${"b".repeat(CERTIFICATE_REQUEST_BYTES - 8)}"}`,
    answer: CERTIFICATE_ANSWER_BYTES,
  },
];

/** The answer's status and body length once `text` holds a whole answer, else undefined. */
function complete(text: string): { status: number; length: number } | undefined {
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) return undefined;
  const length = Number(/content-length: (\d+)/i.exec(text.slice(0, end))?.[1] ?? NaN);
  if (text.length < end + 4 + length) return undefined;
  return { status: Number(text.slice(9, 12)), length };
}

function attestation(): Promise<void> {
  return new Promise((resolve, reject) => {
    let step = 0;
    let text = "";
    const send = () => {
      const { path, body } = STEPS[step]!;
      socket.write(
        `POST ${path} HTTP/1.1\r\nhost: coordinator\r\ncontent-type: application/json\r\n` +
          `content-length: ${body.length}\r\n\r\n${body}`,
      );
    };
    const socket = plain ? net.connect({ port, host: "127.0.0.1" }, send) : tls.connect(
      { port, host: "127.0.0.1", rejectUnauthorized: false, minVersion: "TLSv1.3" },
      send,
    );
    socket.setNoDelay(true);
    socket.on("error", reject);
    socket.on("data", (chunk: Uint8Array) => {
      text += new TextDecoder().decode(chunk);
      const answer = complete(text);
      if (!answer) return;
      if (answer.status !== 200 || answer.length !== STEPS[step]!.answer) {
        socket.destroy();
        reject(new Error(`${STEPS[step]!.path}: status ${answer.status}, ${answer.length} bytes`));
        return;
      }
      text = "";
      if (++step < STEPS.length) return send();
      socket.end();
      resolve();
    });
  });
}

let started = 0;
const t0 = performance.now();
await Promise.all(
  Array.from({ length: inFlight }, async () => {
    while (started < connections) {
      started++;
      await attestation();
    }
  }),
);
console.log(JSON.stringify({ connections, ms: performance.now() - t0 }));
