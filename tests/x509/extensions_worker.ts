/**
 * Worker for `certificate_test.ts`: parses the extension list it is sent with
 * `parseExtensionList` and answers with the number of extensions (or the error's message), so
 * the test can bound the time without blocking its own thread.
 *
 * @module
 */
import { parseExtensionList } from "../../x509/certificate.ts";
import { readElement } from "../../x509/der.ts";

/** The worker scope's messaging (the type checker sees the window's globals). */
const scope = self as unknown as {
  onmessage: ((event: MessageEvent<Uint8Array>) => void) | null;
  postMessage(message: unknown): void;
};

scope.onmessage = (event) => {
  try {
    scope.postMessage(parseExtensionList(readElement(event.data, 0, "x"), "x").length);
  } catch (e) {
    scope.postMessage((e as Error).message);
  }
};
