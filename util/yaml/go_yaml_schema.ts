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
 * - Numbers: go-yaml v2 reads forms as numbers that the package's YAML 1.1 tags leave strings
 *   (`0o17`, `0O17`, `0X1F`, `0B101`, `+_1`, `1e1_0`, `0b-101`…; `go_yaml_resolve.ts`) or as
 *   other numbers (`0_`). Two tags before the package's own read every plain scalar go-yaml reads
 *   as a number as that number, and, since the printers quote every string a default tag's test
 *   matches, print such a string quoted. (Numbers print through the package's tags, in decimal.)
 *   The package's own number and timestamp tags then read what reaches them (`1:20`, `e5`, `.`,
 *   `1e400`, `2001-12-14`: text to go-yaml) as text, and still make such strings print quoted.
 *
 * @module
 */
import type { ScalarTag, Tags } from "yaml";
import { type GoYamlKind, goYamlV2Resolve } from "./go_yaml_resolve.ts";

const MERGE_TAG = "tag:yaml.org,2002:merge";

/** Only the merge key itself (a symbol described `<<`), never the string `<<`. */
function isMergeKeySymbol(value: unknown): boolean {
  return typeof value === "symbol" && value.description === "<<";
}

/** First characters of the scalars go-yaml may read as numbers (`-`, `+`, `.`, digits). */
function mayBeNumber(text: string): boolean {
  const c = text.charCodeAt(0);
  return (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e;
}

/**
 * A tag test (the package and the plain printer call only `test`) matching the plain scalars
 * go-yaml v2 reads as `kind`.
 */
class GoYamlKindTest extends RegExp {
  constructor(private readonly kind: GoYamlKind) {
    super("(?!)");
  }

  override test(text: string): boolean {
    return mayBeNumber(text) && goYamlV2Resolve(text).kind === this.kind;
  }
}

/** A tag reading the plain scalars go-yaml v2 reads as numbers of `kind` as those numbers. */
function goYamlNumberTag(kind: "int" | "float"): ScalarTag {
  return {
    // Numbers print through the package's own tags; these only read, and make strings quoted.
    identify: () => false,
    default: true,
    tag: `tag:yaml.org,2002:${kind}`,
    test: new GoYamlKindTest(kind),
    resolve: (text: string) => goYamlV2Resolve(text).value!,
  };
}

/** The tags whose plain scalars go-yaml reads as numbers or (decoded into interface{}) text. */
const NUMBER_OR_TIME_TAGS = new Set(
  ["int", "float", "timestamp"].map((name) => `tag:yaml.org,2002:${name}`),
);

/**
 * The package's own number and timestamp tags, for a scalar that reaches them: the go-yaml
 * number tags come first and take every scalar go-yaml reads as a number, so what is left
 * (`1:20`, `e5`, `.`, `._5`, `1e400`, `2001-12-14`) go-yaml reads as that text: so does this tag.
 * Its test stays, so such a string is still printed quoted; it prints numbers as before.
 */
function readAsText(tag: ScalarTag): ScalarTag {
  return { ...tag, resolve: (text: string) => text };
}

const GO_YAML_NUMBER_TAGS: readonly ScalarTag[] = [
  goYamlNumberTag("int"),
  goYamlNumberTag("float"),
];

/** The adjusted form of each of the package's tags, made once (the package's are constants). */
const ADJUSTED = new WeakMap<object, Tags[number]>();

function adjusted(tag: Tags[number]): Tags[number] {
  if (typeof tag !== "object" || "collection" in tag) return tag;
  let made = ADJUSTED.get(tag);
  if (made === undefined) {
    made = tag.tag === MERGE_TAG
      ? { ...(tag as ScalarTag), identify: isMergeKeySymbol }
      : NUMBER_OR_TIME_TAGS.has(tag.tag)
      ? readAsText(tag as ScalarTag)
      : tag;
    ADJUSTED.set(tag, made);
  }
  return made;
}

/**
 * The `customTags` function of `YAML_OPTIONS`: the schema's tags, adjusted as described above.
 * The package calls it for every document it makes; each adjusted tag is made once per tag of
 * the package (a new list each call, as the package gives each document its own).
 */
export function goYamlTags(tags: Tags): Tags {
  // The go-yaml number tags come first: where the package's tags read the same text too, they
  // may read another value (`0_` is NaN to the package's octal tag, 0 to go-yaml).
  if (!sameTags(tags, lastTags)) {
    lastTags = tags.slice();
    lastAdjusted = [...GO_YAML_NUMBER_TAGS, ...tags.map(adjusted)];
  }
  return lastAdjusted.slice();
}

/**
 * The package's tags of the last {@link goYamlTags} call and its result, a memo of a pure function
 * (like {@link ADJUSTED}; callers get a fresh list each time): the package asks again for every
 * document (a 1,000-document file asks 1,000 times) with the same tags.
 */
let lastTags: Tags = [];
let lastAdjusted: Tags = [];

function sameTags(a: Tags, b: Tags): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
