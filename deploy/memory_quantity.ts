/**
 * Kubernetes resource quantities for memory (`resource.Quantity` syntax: `128Mi`, `1Gi`,
 * `500M`, `1e9`, `0.5Gi`), read exactly (BigInt, no floating point) so `generate` refuses what
 * the API server would refuse or what means something else than intended: a sign, zero, a
 * fraction of a byte (`100m` is a tenth of a byte, not 100 MiB), more than 2^63 - 1 bytes.
 *
 * @module
 */

/** Bytes per suffix (decimal and binary SI; `m` is handled as a fraction). */
const SUFFIX_BYTES: Readonly<Record<string, bigint>> = {
  "": 1n,
  k: 10n ** 3n,
  M: 10n ** 6n,
  G: 10n ** 9n,
  T: 10n ** 12n,
  P: 10n ** 15n,
  E: 10n ** 18n,
  Ki: 2n ** 10n,
  Mi: 2n ** 20n,
  Gi: 2n ** 30n,
  Ti: 2n ** 40n,
  Pi: 2n ** 50n,
  Ei: 2n ** 60n,
};

/** The largest quantity Kubernetes keeps as an integer (int64). */
const MAX_BYTES = 2n ** 63n - 1n;

/** `<sign><number><suffix>`: the grammar of `k8s.io/apimachinery` `resource.Quantity`. */
const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;

/**
 * The bytes of a memory quantity, or the reason it is refused (malformed, not positive, not a
 * whole number of bytes, beyond int64).
 */
export function parseMemoryQuantity(
  text: string,
): { readonly bytes: bigint } | { readonly reason: string } {
  const m = QUANTITY.exec(text);
  if (!m) {
    return {
      reason: `${JSON.stringify(text)} is not a Kubernetes quantity (e.g. 128Mi, 1Gi, 500M)`,
    };
  }
  const [, sign, number, suffix = ""] = m;
  const [whole = "", fraction = ""] = number!.split(".");
  // number = digits / 10^scale
  const digits = BigInt(`${whole}${fraction}` || "0");
  let scale = BigInt(fraction.length);
  let factor = 1n;
  if (suffix === "m") scale += 3n;
  else if (suffix in SUFFIX_BYTES) factor = SUFFIX_BYTES[suffix]!;
  else {
    // A decimal exponent: e or E, a sign, digits.
    const exponent = BigInt(suffix.slice(1));
    if (exponent > 30n || exponent < -30n) {
      return { reason: `${JSON.stringify(text)}: exponent out of range` };
    }
    if (exponent >= 0n) factor = 10n ** exponent;
    else scale -= exponent;
  }
  const numerator = digits * factor;
  const divisor = 10n ** scale;
  if (sign === "-" || numerator === 0n) {
    return { reason: `${JSON.stringify(text)} must be more than 0 bytes` };
  }
  if (numerator % divisor !== 0n) {
    return {
      reason: `${JSON.stringify(text)} is not a whole number of bytes` +
        (suffix === "m" ? ` ("m" is a thousandth: for mebibytes write Mi)` : ""),
    };
  }
  const bytes = numerator / divisor;
  if (bytes > MAX_BYTES) return { reason: `${JSON.stringify(text)} is more than 2^63 - 1 bytes` };
  return { bytes };
}
