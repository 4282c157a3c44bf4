/**
 * The warning `contrast generate` prints for an image it resolved by tag from a registry reached
 * over plain HTTP (`--insecure-registry`): the digest it pins into the YAML and the policy is
 * whatever answered on the network path then, since nothing authenticates a tag's answer. An image
 * named by digest is checked against it, over HTTP too, and gets no warning.
 *
 * @module
 */
import { parseImageReference } from "../oci/reference.ts";
import type { ResolvedImage } from "../oci/types.ts";

/**
 * The warning for `image` (undefined when it was named by digest or its registry is not among
 * `insecureRegistries`, the `host[:port]` values of `--insecure-registry`).
 */
export function insecureTagWarning(
  image: Pick<ResolvedImage, "reference" | "digest" | "pinned">,
  insecureRegistries: readonly string[],
): string | undefined {
  const ref = parseImageReference(image.reference);
  if (ref.digest !== undefined || !insecureRegistries.includes(ref.registry)) return undefined;
  return `image "${image.reference}" was resolved by its tag over plain HTTP ` +
    `(--insecure-registry ${ref.registry}) to ${image.digest}: anyone on the network path could ` +
    "have chosen that image, and the YAML and the policy now pin it; name the image by a digest " +
    `you checked (e.g. ${image.pinned}), which is verified over HTTP too`;
}
