/**
 * Worker for `pem_test.ts`: decodes the text it is sent with `decodePem` and answers with the
 * number of blocks (or the error's message), so the test can bound the time without blocking
 * its own thread.
 *
 * @module
 */
import { decodePem } from "../../../util/bytes/pem.ts";

self.onmessage = (event: MessageEvent<string>) => {
  try {
    self.postMessage(decodePem(event.data, "CERTIFICATE", "pckChain").length);
  } catch (e) {
    self.postMessage((e as Error).message);
  }
};
