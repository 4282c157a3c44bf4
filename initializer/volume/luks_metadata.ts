/**
 * Checks a LUKS2 header's JSON metadata (`cryptsetup luksDump --dump-json-metadata`) against the
 * parameters contrast formats with. The header lives on the untrusted disk and its checksum is
 * not keyed: the host can rewrite it, e.g. switch the data segment to `cipher_null` while
 * keeping the keyslot that our key opens, so the volume would be "opened" but written in the
 * clear. Opening therefore proceeds only when every segment, keyslot and digest is exactly what
 * {@link LUKS_FORMAT_PARAMETERS} produce, no tokens are present, and the header sets no persistent
 * activation flags or requirements (`config.flags`, `config.requirements`): `cryptsetup open`
 * applies the header's flags, so a host adding `allow-discards` would have the opened volume pass
 * the filesystem's discards through and learn which blocks hold data.
 *
 * @module
 */
import { ValidationError } from "../../util/errors/mod.ts";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function expect(condition: boolean, field: string, reason: string): void {
  if (!condition) throw new ValidationError(`luks2.${field}`, reason);
}

/**
 * Validates the metadata.
 *
 * @throws {ValidationError} naming the metadata field (`luks2.segments.0.encryption`, …)
 */
export function checkLuksMetadata(metadata: unknown): void {
  expect(isObject(metadata), "", "metadata is not a JSON object");
  const m = metadata as Json;
  const segments = m.segments;
  expect(isObject(segments) && Object.keys(segments).length === 1, "segments", "expected one");
  for (const [id, segment] of Object.entries(segments as Json)) {
    const s = isObject(segment) ? segment : {};
    expect(s.type === "crypt", `segments.${id}.type`, `expected crypt, got ${String(s.type)}`);
    expect(
      s.encryption === "aes-xts-plain64",
      `segments.${id}.encryption`,
      `expected aes-xts-plain64, got ${String(s.encryption)}`,
    );
    expect(s.sector_size === 4096, `segments.${id}.sector_size`, "expected 4096");
    expect(s.integrity === undefined, `segments.${id}.integrity`, "unexpected integrity");
  }
  const keyslots = m.keyslots;
  expect(isObject(keyslots) && Object.keys(keyslots).length >= 1, "keyslots", "expected some");
  for (const [id, slot] of Object.entries(keyslots as Json)) {
    const k = isObject(slot) ? slot : {};
    const area = isObject(k.area) ? k.area : {};
    const kdf = isObject(k.kdf) ? k.kdf : {};
    expect(k.type === "luks2", `keyslots.${id}.type`, "expected luks2");
    expect(k.key_size === 64, `keyslots.${id}.key_size`, "expected 64 bytes (AES-256-XTS)");
    expect(
      area.encryption === "aes-xts-plain64",
      `keyslots.${id}.area.encryption`,
      `expected aes-xts-plain64, got ${String(area.encryption)}`,
    );
    expect(kdf.type === "pbkdf2", `keyslots.${id}.kdf.type`, `expected pbkdf2`);
    expect(kdf.hash === "sha256", `keyslots.${id}.kdf.hash`, "expected sha256");
    expect(
      typeof kdf.iterations === "number" && kdf.iterations >= 1000,
      `keyslots.${id}.kdf.iterations`,
      "expected at least 1000",
    );
  }
  checkConfig(m.config);
  const tokens = m.tokens;
  expect(
    tokens === undefined || (isObject(tokens) && Object.keys(tokens).length === 0),
    "tokens",
    "unexpected tokens (contrast sets none)",
  );
  const digests = m.digests;
  expect(isObject(digests) && Object.keys(digests).length >= 1, "digests", "expected some");
  for (const [id, digest] of Object.entries(digests as Json)) {
    const d = isObject(digest) ? digest : {};
    expect(d.type === "pbkdf2", `digests.${id}.type`, "expected pbkdf2");
    expect(d.hash === "sha256", `digests.${id}.hash`, "expected sha256");
  }
}

/** `config`: no persistent activation flags, no requirements (contrast sets neither). */
function checkConfig(config: unknown): void {
  if (config === undefined) return;
  expect(isObject(config), "config", "expected an object");
  const { flags, requirements } = config as Json;
  expect(
    flags === undefined || (Array.isArray(flags) && flags.length === 0),
    "config.flags",
    `unexpected persistent activation flags ${JSON.stringify(flags)} (contrast sets none; ` +
      "allow-discards would show the host which blocks hold data)",
  );
  const mandatory = isObject(requirements) ? requirements.mandatory : undefined;
  expect(
    requirements === undefined ||
      (isObject(requirements) && Object.keys(requirements).every((k) => k === "mandatory") &&
        (mandatory === undefined || (Array.isArray(mandatory) && mandatory.length === 0))),
    "config.requirements",
    `unexpected requirements ${JSON.stringify(requirements)} (contrast sets none)`,
  );
}
