/**
 * What a build of the CLI carries besides its code: a release build embeds the image lock of the
 * images built with it (see `scripts/release.ts`), so `contrast generate` and `contrast
 * coordinator` pin those images without further flags.
 *
 * @module
 */

/** Build-time data passed to the program. */
export interface BuildInfo {
  /** The embedded image lock's bytes (`images.lock.json`), when the build has one. */
  readonly imageLock?: Uint8Array;
}
