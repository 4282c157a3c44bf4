/**
 * Evidence as it travels in JSON bodies: `{platform, report, aux?}` with base64 bytes.
 *
 * @module
 */
import { ParseError } from "../util/errors/mod.ts";
import { decodeBase64, encodeBase64 } from "../util/bytes/mod.ts";
import type { Evidence } from "../evidence/types.ts";

/** JSON form of {@link Evidence}. */
export interface EvidenceJson {
  /** `snp` or `tdx`. */
  readonly platform: "snp" | "tdx";
  /** base64 of the report or quote. */
  readonly report: string;
  /** base64 of the auxiliary blob, when there is one. */
  readonly aux?: string;
}

/** The JSON form of `evidence`. */
export function evidenceToJson(evidence: Evidence): EvidenceJson {
  return {
    platform: evidence.platform,
    report: encodeBase64(evidence.report),
    ...(evidence.aux ? { aux: encodeBase64(evidence.aux) } : {}),
  };
}

/**
 * Evidence read from its JSON form.
 *
 * @throws {ParseError} naming the field (under `field`) that is missing or malformed
 */
export function evidenceFromJson(value: unknown, field: string): Evidence {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ParseError(field, "expected an object {platform, report, aux?}");
  }
  const object = value as Record<string, unknown>;
  // The first key that is none of the three (no object rest copy per request).
  for (const key of Object.keys(object)) {
    if (key !== "platform" && key !== "report" && key !== "aux") {
      throw new ParseError(`${field}.${key}`, "unknown field");
    }
  }
  const { platform, report, aux } = object;
  if (platform !== "snp" && platform !== "tdx") {
    throw new ParseError(`${field}.platform`, 'expected "snp" or "tdx"');
  }
  if (typeof report !== "string") {
    throw new ParseError(`${field}.report`, "expected a base64 string");
  }
  if (aux !== undefined && typeof aux !== "string") {
    throw new ParseError(`${field}.aux`, "expected a base64 string");
  }
  return {
    platform,
    report: decodeBase64(report, `${field}.report`),
    ...(aux !== undefined ? { aux: decodeBase64(aux, `${field}.aux`) } : {}),
  };
}
