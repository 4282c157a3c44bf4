/**
 * A flood of `POST /mesh/challenge` requests from one client address, as a stranger on the
 * network would send them: HTTP/1.1 requests pipelined (up to 256 in flight) over a few
 * keep-alive TLS connections
 * bound to a chosen loopback source address (so the Coordinator sees that address as the
 * client's). Counts the answers by status. For end-to-end tests of the nonce limits.
 *
 * @module
 */
import net from "node:net";
import tls from "node:tls";

/** What a flood should send. */
interface ChallengeFloodOptions {
  /** The Coordinator's mesh API, `host:port`. */
  readonly target: string;
  /** The loopback source address the requests come from (e.g. `127.0.0.2`). */
  readonly sourceAddress: string;
  /** Number of requests in all. */
  readonly requests: number;
  /** Number of TLS connections they are spread over (default 4). */
  readonly connections?: number;
}

/** Answers by HTTP status, e.g. `{ 200: 100000 }`. */
type StatusCounts = Record<number, number>;

/** What a flood got back. */
interface ChallengeFloodResult {
  /** Answers by HTTP status. */
  readonly counts: StatusCounts;
  /** The body of the first answer (of the first connection). */
  readonly firstBody: string;
}

const REQUEST = (host: string) =>
  `POST /mesh/challenge HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\n` +
  `Content-Length: 2\r\n\r\n{}`;

/** Requests in flight per connection. */
const WINDOW = 256;

/** Reads pipelined HTTP/1.1 responses (status and Content-Length framing only). */
class ResponseCounter {
  #buffer = "";
  readonly counts: StatusCounts = {};
  total = 0;
  firstBody = "";

  push(chunk: string): void {
    this.#buffer += chunk;
    let at = 0;
    for (;;) {
      const end = this.#buffer.indexOf("\r\n\r\n", at);
      if (end < 0) break;
      const head = this.#buffer.slice(at, end);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (this.#buffer.length < end + 4 + length) break;
      this.counts[status] = (this.counts[status] ?? 0) + 1;
      if (this.total === 0) this.firstBody = this.#buffer.slice(end + 4, end + 4 + length);
      this.total++;
      at = end + 4 + length;
    }
    this.#buffer = this.#buffer.slice(at);
  }
}

function floodOne(
  host: string,
  port: number,
  sourceAddress: string,
  requests: number,
): Promise<ChallengeFloodResult> {
  return new Promise((resolve, reject) => {
    const counter = new ResponseCounter();
    // The TCP socket is bound to the source address; TLS runs over it.
    const tcp = net.connect({ host, port, localAddress: sourceAddress });
    const request = REQUEST(`${host}:${port}`);
    let sent = 0;
    // Keep at most WINDOW requests in flight: a deeper pipeline would sit half-parsed in the
    // server's buffer and trip its headers timeout, which closes the connection.
    const topUp = () => {
      const n = Math.min(WINDOW - (sent - counter.total), requests - sent);
      if (n <= 0) return;
      sent += n;
      socket.write(request.repeat(n));
    };
    const socket = tls.connect({ socket: tcp, rejectUnauthorized: false }, topUp);
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      counter.push(chunk);
      if (counter.total === requests) {
        socket.end();
        resolve({ counts: counter.counts, firstBody: counter.firstBody });
      } else if (sent - counter.total <= WINDOW / 2) topUp();
    });
    socket.on("error", reject);
    socket.on("close", () => {
      if (counter.total < requests) {
        reject(new Error(`connection closed after ${counter.total} of ${requests} answers`));
      }
    });
  });
}

/** Sends the flood and returns the answers by status once every request is answered. */
export async function challengeFlood(
  options: ChallengeFloodOptions,
): Promise<ChallengeFloodResult> {
  const [host, port] = options.target.split(":") as [string, string];
  const connections = options.connections ?? 4;
  const per = Math.ceil(options.requests / connections);
  const shares = Array.from(
    { length: connections },
    (_, i) => Math.max(0, Math.min(per, options.requests - i * per)),
  ).filter((n) => n > 0);
  const results = await Promise.all(
    shares.map((n) => floodOne(host, Number(port), options.sourceAddress, n)),
  );
  const counts: StatusCounts = {};
  for (const r of results) {
    for (const [status, n] of Object.entries(r.counts)) {
      counts[Number(status)] = (counts[Number(status)] ?? 0) + n;
    }
  }
  return { counts, firstBody: results[0]?.firstBody ?? "" };
}
