/**
 * The `yaml` package's YAML 1.1 schema, adjusted to read and print scalars as kubectl does
 * (go-yaml v2 through sigs.k8s.io/yaml). Used through `YAML_OPTIONS` (`documents.ts`).
 *
 * - Merge keys: the package prints any string `<<` through its merge tag, unquoted, so a
 *   non-merge key `"<<"` would come out as `<<:`, a merge key to go-yaml. Here only a real merge
 *   key (the symbol the package reads a plain `<<` key as) is printed through the merge tag; a
 *   string `<<` is printed as a string, and so quoted (the merge tag's test matches it), which
 *   go-yaml reads as an ordinary key. (Input with such a key is refused anyway:
 *   `kubectl_agreement.ts`.)
 *
 * @module
 */
import type { ScalarTag, Tags } from "yaml";

const MERGE_TAG = "tag:yaml.org,2002:merge";

/** Only the merge key itself (a symbol described `<<`), never the string `<<`. */
function isMergeKeySymbol(value: unknown): boolean {
  return typeof value === "symbol" && value.description === "<<";
}

/** The `customTags` function of `YAML_OPTIONS`: the schema's tags, adjusted as described above. */
export function goYamlTags(tags: Tags): Tags {
  return tags.map((tag) =>
    typeof tag === "object" && tag.tag === MERGE_TAG
      ? { ...(tag as ScalarTag), identify: isMergeKeySymbol }
      : tag
  );
}
