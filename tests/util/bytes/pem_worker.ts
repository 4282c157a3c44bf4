/**
 * Worker for `pem_test.ts`: decodes the text it is sent with `decodePem` and answers with the
 * number of blocks (or the error's message), so the test can bound the time without blocking
 * its own thread.
 *
 * @module
 */
import { decodePem } from "../../../util/bytes/pem.ts";

/** The worker scope's messaging (the type checker sees the window's globals). */
const scope = self as unknown as {
  onmessage: ((event: MessageEvent<string>) => void) | null;
  postMessage(message: unknown): void;
};

scope.onmessage = (event) => {
  try {
    scope.postMessage(decodePem(event.data, "CERTIFICATE", "pckChain").length);
  } catch (e) {
    scope.postMessage((e as Error).message);
  }
};
