/**
 * Parts of the policy data that depend on the settings alone (the runtime's default mounts, the
 * sorted namespaces and capabilities, the pause process's environment…), made once per
 * `generate` run and shared, deeply frozen, by every pod's policy data instead of rebuilt per
 * pod. Frozen values can neither be changed by a later pod's building nor by a reader, and the
 * policy data line writer (`toml_json_line.ts`) writes a frozen value's text once per run and
 * copies it where the value recurs.
 *
 * @module
 */
import type { Settings } from "./settings.ts";

/**
 * `value`, with every object and array in it frozen (in place).
 *
 * @example Freeze a tree
 * ```ts
 * import { deepFreeze } from "./shared_values.ts";
 *
 * const tree = deepFreeze({ a: [1, { b: 2 }] });
 * console.log(Object.isFrozen(tree.a[1])); // true
 * ```
 */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/**
 * A deeply frozen copy of `settings`, for policy data whose settings parts are shared by reference
 * (the caller's settings stay as they are).
 *
 * @example The copy is equal and frozen
 * ```ts
 * import { frozenSettings } from "./shared_values.ts";
 * import { loadDefaultSettings } from "./settings.ts";
 *
 * const settings = await loadDefaultSettings();
 * const frozen = frozenSettings(settings);
 * console.log(Object.isFrozen(frozen.container.masked_paths), Object.isFrozen(settings)); // true false
 * ```
 */
export function frozenSettings(settings: Settings): Settings {
  return deepFreeze(structuredClone(settings));
}

/**
 * Values made once per key for pods built with {@link SharedPolicyValues.settings}: each made by
 * its `make` the first time and deeply frozen. For other settings nothing is shared (`make` runs
 * every time), so a cache can never hand one run's values to another.
 *
 * @example Made once per key
 * ```ts
 * import { SharedPolicyValues } from "./shared_values.ts";
 * import { loadDefaultSettings } from "./settings.ts";
 *
 * const settings = await loadDefaultSettings();
 * const shared = new SharedPolicyValues(settings);
 * const a = shared.get(settings, "namespaces", () => [...settings.container.namespaces].sort());
 * const b = shared.get(settings, "namespaces", () => []);
 * console.log(a === b, Object.isFrozen(a)); // true true
 * ```
 */
export class SharedPolicyValues {
  readonly #values = new Map<string, unknown>();

  constructor(
    /** The settings the values are made from. */
    readonly settings: Settings,
  ) {}

  /**
   * The value of `key` for `settings`: made by `make` and frozen the first time, the same value
   * afterwards; with other settings than {@link settings}, `make()` unfrozen.
   */
  get<T>(settings: Settings, key: string, make: () => T): T {
    if (settings !== this.settings) return make();
    if (this.#values.has(key)) return this.#values.get(key) as T;
    const value = deepFreeze(make());
    this.#values.set(key, value);
    return value;
  }
}
