/**
 * An emulator of the configfs-tsm report interface on an ordinary directory, for tests and local
 * runs without TEE hardware. It watches the directory tree: when an entry directory appears it
 * creates the read-only attributes (`provider`, `generation`, `privlevel_floor`); when `inblob` or
 * `privlevel` change it bumps `generation` (once per observed change of content, as the kernel
 * does once per write), asks the provider callback for `outblob`/`auxblob`, and writes them
 * (atomically) before publishing the new `generation`. Simulated SNP/TDX providers plug in as the
 * callback; the emulator itself vouches for nothing.
 *
 * Use it with `new ConfigfsTsm({ root, fs: emulatedTsmFileSystem })`.
 *
 * @module
 */
import { encodeHex } from "../util/bytes/mod.ts";
import { readFileIfExists, writeFileAtomic } from "../util/files/mod.ts";
import type { TsmFileSystem } from "../evidence/configfs_tsm.ts";

/**
 * Produces evidence for one report request.
 *
 * @example A provider that echoes the request
 * ```ts
 * import type { TsmProvider } from "./mod.ts";
 *
 * const echo: TsmProvider = {
 *   name: "sev_guest",
 *   produce: (inblob) => Promise.resolve({ outblob: inblob.slice() }),
 * };
 * console.log(echo.name);
 * ```
 */
export interface TsmProvider {
  /** The provider name the `provider` attribute shows, e.g. `sev_guest`. */
  readonly name: string;
  /** Lowest privlevel accepted (shown in `privlevel_floor`). Default 0. */
  readonly privlevelFloor?: number;
  /** Evidence for `inblob` at `privlevel`. */
  produce(
    inblob: Uint8Array,
    options: { readonly privlevel: number },
  ): Promise<{ outblob: Uint8Array; auxblob?: Uint8Array }>;
}

/**
 * File operations for a {@link ConfigfsTsm} pointed at an emulator's directory.
 *
 * @example Read reports from an emulated configfs-tsm
 * ```ts
 * import { ConfigfsTsm } from "../evidence/mod.ts";
 * import { emulatedTsmFileSystem } from "./mod.ts";
 *
 * const tsm = new ConfigfsTsm({ root: "/tmp/tsm/report", fs: emulatedTsmFileSystem });
 * console.log(tsm.root);
 * ```
 */
export const emulatedTsmFileSystem: TsmFileSystem = {
  mkdir: (path) => Deno.mkdir(path),
  rmdir: (path) => Deno.remove(path, { recursive: true }),
  readFile: (path) => Deno.readFile(path),
  writeFile: (path, data) => Deno.writeFile(path, data),
};

interface EntryState {
  generation: number;
  inblob?: string;
  privlevel?: string;
  queue: Promise<void>;
}

const INPUTS = new Set(["inblob", "privlevel"]);

/**
 * A running configfs-tsm emulator on a directory.
 *
 * @example Emulate configfs-tsm with the simulated SNP authority
 * ```ts
 * import { ConfigfsTsm } from "../evidence/mod.ts";
 * import {
 *   emulatedTsmFileSystem,
 *   SimulatedSnpAuthority,
 *   simulatedSnpTsmProvider,
 *   TsmEmulator,
 * } from "./mod.ts";
 *
 * const authority = await SimulatedSnpAuthority.generate({ rsaBits: 2048 });
 * const root = `${await Deno.makeTempDir()}/tsm/report`;
 * const emulator = new TsmEmulator({ root, provider: simulatedSnpTsmProvider(authority) });
 * await emulator.start();
 * try {
 *   const tsm = new ConfigfsTsm({ root, fs: emulatedTsmFileSystem });
 *   console.log((await tsm.getReport(new Uint8Array(64))).provider); // "sev_guest"
 * } finally {
 *   await emulator.stop();
 * }
 * ```
 */
export class TsmEmulator {
  /** The emulated report root. */
  readonly root: string;
  readonly #provider: TsmProvider;
  readonly #entries = new Map<string, EntryState>();
  #watcher?: Deno.FsWatcher;
  #loop?: Promise<void>;
  /** Errors of the provider callback, newest last (the emulator keeps running). */
  readonly errors: unknown[] = [];

  /** An emulated report interface under `options.root`, answered by `options.provider`. */
  constructor(options: { root: string; provider: TsmProvider }) {
    this.root = options.root.replace(/\/+$/, "");
    this.#provider = options.provider;
  }

  /** Creates the root when needed and starts watching it. */
  async start(): Promise<void> {
    await Deno.mkdir(this.root, { recursive: true });
    this.#watcher = Deno.watchFs(this.root, { recursive: true });
    const realRoot = await Deno.realPath(this.root);
    this.#loop = (async () => {
      for await (const event of this.#watcher!) {
        for (const path of event.paths) this.#onPath([this.root, realRoot], path);
      }
    })();
    for await (const item of Deno.readDir(this.root)) {
      if (item.isDirectory) this.#enqueue(item.name, undefined);
    }
  }

  /** Stops watching and waits for pending work. */
  async stop(): Promise<void> {
    this.#watcher?.close();
    await this.#loop;
    await Promise.all([...this.#entries.values()].map((e) => e.queue));
  }

  #onPath(roots: readonly string[], path: string): void {
    const root = roots.find((r) => path.startsWith(r + "/"));
    if (root === undefined) return;
    const parts = path.slice(root.length + 1).split("/");
    const name = parts[0]!;
    if (parts.length === 1) this.#enqueue(name, undefined);
    else if (parts.length === 2 && INPUTS.has(parts[1]!)) this.#enqueue(name, parts[1]);
  }

  #enqueue(name: string, attribute: string | undefined): void {
    let state = this.#entries.get(name);
    if (!state) {
      // Writes made before the watch on the new directory existed produce no event: the first
      // processing after initialisation looks at whatever inputs are already there.
      state = { generation: 0, queue: this.#init(name) };
      this.#entries.set(name, state);
    } else if (attribute === undefined) {
      return;
    }
    const s = state;
    s.queue = s.queue.then(() => this.#process(name, s)).catch((e) => {
      this.errors.push(e);
    });
  }

  async #init(name: string): Promise<void> {
    const dir = `${this.root}/${name}`;
    try {
      if (!(await Deno.stat(dir)).isDirectory) return;
      await writeFileAtomic(`${dir}/provider`, `${this.#provider.name}\n`);
      await writeFileAtomic(`${dir}/privlevel_floor`, `${this.#provider.privlevelFloor ?? 0}\n`);
      await writeFileAtomic(`${dir}/generation`, "0\n");
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) this.errors.push(e);
    }
  }

  async #process(name: string, state: EntryState): Promise<void> {
    const dir = `${this.root}/${name}`;
    if (!(await exists(dir))) {
      this.#entries.delete(name);
      return;
    }
    const inblob = await readFileIfExists(`${dir}/inblob`);
    const privlevel = await readFileIfExists(`${dir}/privlevel`);
    if (inblob === undefined && privlevel === undefined) return;
    let changed = false;
    const inblobKey = inblob && inblob.length > 0 ? encodeHex(inblob) : undefined;
    if (inblobKey !== undefined && inblobKey !== state.inblob) {
      state.inblob = inblobKey;
      state.generation++;
      changed = true;
    }
    const privText = privlevel ? new TextDecoder().decode(privlevel).trim() : undefined;
    if (privText && privText !== state.privlevel) {
      state.privlevel = privText;
      state.generation++;
      changed = true;
    }
    if (!changed) return;
    let failure: unknown;
    try {
      if (inblob && inblob.length > 0) {
        const level = state.privlevel === undefined ? 0 : Number(state.privlevel);
        let produced: { outblob: Uint8Array; auxblob?: Uint8Array } | undefined;
        try {
          produced = await this.#provider.produce(inblob, { privlevel: level });
        } catch (e) {
          // Like the kernel when the TEE fails: no outblob for this generation (reading it fails).
          failure = e;
          await Deno.remove(`${dir}/outblob`).catch(() => {});
          await Deno.remove(`${dir}/auxblob`).catch(() => {});
        }
        if (produced) {
          await writeFileAtomic(`${dir}/outblob`, produced.outblob);
          if (produced.auxblob) await writeFileAtomic(`${dir}/auxblob`, produced.auxblob);
        }
      }
      await writeFileAtomic(`${dir}/generation`, `${state.generation}\n`);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    if (failure !== undefined) throw failure;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
