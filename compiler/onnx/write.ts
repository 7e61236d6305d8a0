/**
 * Writing ONNX models. Tensors at or above a size threshold go to an external data file
 * (required beyond protobuf's 2 GiB, and what lets several graphs share one copy of frozen
 * weights). Files are written to a temporary name and renamed, so a crash never leaves a
 * half-written model behind.
 */
import { closeSync, constants, copyFileSync, fsyncSync, linkSync, mkdirSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { ModelProto } from './proto.ts';
import type { DeferredBytes } from './deferred.ts';
import { DEFAULT_EXTERNAL_THRESHOLD, DataLayout, encodeModel, type ExternalSink } from './encode.ts';
import { UserError } from '../../contract/errors.ts';
import { renameInto, temporaryName, writeFileAtomic } from '../../contract/atomic.ts';
import { fileError } from '../../contract/file-errors.ts';
import { LINKED_DATA_DIR } from '../../contract/artifacts-folder.ts';


/** A weights file already on disk and where each tensor's bytes sit in it. */
export interface WeightsOnDisk {
  path: string;
  placed: ReadonlyMap<Uint8Array, number>;
  size: number;
}

/**
 * One external data file, written once and shared by any number of models. A tensor whose
 * bytes (the same Uint8Array) were already placed is not written twice.
 *
 * Given `prior` (a file this process wrote from the same tensors), nothing is written while
 * every tensor lands where it landed there; at commit the prior file is hard-linked into place.
 * A recompile after Merge / Inject keeps the same frozen weights in the same order, so it
 * costs no weight I/O. At the first difference the skipped tensors are written after all.
 */
export class ExternalDataFile implements ExternalSink {
  readonly location: string;
  private readonly tmp: string;
  private fd: number | undefined;
  private readonly layout = new DataLayout();
  private reusing: boolean;
  /** Base data files referenced in place: source file -> its location beside this file. */
  private readonly links = new Map<string, { location: string; source: DeferredBytes }>();
  private readonly linked: string[] = [];

  constructor(
    readonly path: string,
    private readonly prior?: WeightsOnDisk,
  ) {
    this.location = basename(path);
    this.tmp = temporaryName(path);
    this.reusing = prior !== undefined;
  }

  place(bytes: Uint8Array): number {
    const { offset, fresh } = this.layout.offsetOf(bytes);
    if (!fresh) return offset;
    if (this.reusing && this.prior!.placed.get(bytes) === offset) return offset;
    if (this.reusing) {
      // Diverged from the prior layout: write what was skipped so far, then carry on writing.
      this.reusing = false;
      for (const [earlier, at] of this.layout.placed) if (earlier !== bytes) this.write(earlier, at);
    }
    this.write(bytes, offset);
    return offset;
  }

  /**
   * Where a deferred tensor (bytes still in the base model's data file) is referenced from:
   * the same offset in a link to that file beside this one, made at commit. No bytes move.
   */
  link(source: DeferredBytes): string {
    const known = this.links.get(source.file);
    if (known) return known.location;
    const taken = new Set([...this.links.values()].map((l) => l.location));
    let location = `${LINKED_DATA_DIR}/${source.location}`;
    for (let k = 2; taken.has(location); k++) location = `${LINKED_DATA_DIR}/${k}/${source.location}`;
    this.links.set(source.file, { location, source });
    return location;
  }

  private write(bytes: Uint8Array, offset: number): void {
    try {
      this.fd ??= openSync(this.tmp, 'w');
      let done = 0;
      while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done, offset + done);
    } catch (e) {
      throw fileError(e, this.path);
    }
  }

  get used(): boolean {
    return this.layout.placed.size > 0 || this.links.size > 0;
  }

  /** What was placed where, for a later ExternalDataFile to reuse. */
  onDisk(): WeightsOnDisk {
    return { path: this.path, placed: new Map(this.layout.placed), size: this.layout.size };
  }

  /** Flushes and moves the file into place (or links the prior file when nothing differed). */
  commit(): void {
    this.commitLinks();
    if (this.reusing && this.layout.placed.size > 0) {
      if (this.layout.placed.size !== this.prior!.placed.size || this.layout.size !== this.prior!.size) {
        this.reusing = false;
        for (const [bytes, at] of this.layout.placed) this.write(bytes, at);
      } else {
        rmSync(this.path, { force: true });
        try {
          linkSync(this.prior!.path, this.path);
        } catch {
          copyFileSync(this.prior!.path, this.path); // another file system: copy instead
        }
        return;
      }
    }
    if (this.fd === undefined) return;
    try {
      fsyncSync(this.fd);
    } catch (e) {
      throw fileError(e, this.path);
    }
    closeSync(this.fd);
    this.fd = undefined;
    renameInto(this.tmp, this.path);
  }

  /**
   * Hard-links each referenced base data file beside this file (a copy, by reflink where the
   * file system offers it, across file systems). A data file that changed size since it was
   * read is refused: the offsets recorded would no longer hold.
   */
  private commitLinks(): void {
    const dir = dirname(this.path);
    for (const { location, source } of this.links.values()) {
      const target = join(dir, location);
      let size: number;
      try {
        size = statSync(source.file).size;
      } catch (e) {
        throw new UserError(`the base model's data file '${source.location}' disappeared while compiling: ${(e as NodeJS.ErrnoException).code}`);
      }
      if (size !== source.fileSize) throw new UserError(`the base model's data file '${source.location}' changed size while compiling (${source.fileSize} -> ${size} bytes)`, 'compile again once the file is complete');
      mkdirSync(dirname(target), { recursive: true });
      rmSync(target, { force: true });
      try {
        linkSync(source.file, target);
      } catch {
        copyFileSync(source.file, target, constants.COPYFILE_FICLONE);
      }
      this.linked.push(target);
    }
  }

  abort(): void {
    for (const target of this.linked.splice(0)) rmSync(target, { force: true });
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    rmSync(this.tmp, { force: true });
  }
}

export interface WriteOptions {
  /** External data file name (in the model's folder); default `<model file>.data`. */
  dataFile?: string;
  /** Tensors of at least this many bytes go external; Infinity keeps everything inline. */
  threshold?: number;
}

/** Writes one model (and its external data file, when any tensor is large enough) atomically. */
export function writeModel(model: ModelProto, path: string, opts: WriteOptions = {}): void {
  const threshold = opts.threshold ?? DEFAULT_EXTERNAL_THRESHOLD;
  const external = Number.isFinite(threshold) ? new ExternalDataFile(join(dirname(path), opts.dataFile ?? `${basename(path)}.data`)) : undefined;
  try {
    const bytes = encodeModel(model, { external, threshold });
    external?.commit();
    writeFileAtomic(path, bytes);
  } catch (e) {
    external?.abort();
    throw e;
  }
}
