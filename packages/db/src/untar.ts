import { truncateSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, relative, resolve, sep } from "node:path";
import { DatabaseError } from "./errors.js";
import { makeDirectories } from "./make-directories.js";

const BLOCK = 512;
const PAGE = 8192;
const ZERO_PAGE = new Uint8Array(PAGE);
/** Shorter zero tails are written out: a hole saves less than the extra system call costs. */
const MIN_HOLE = 64 * 1024;

function corrupt(why: string): DatabaseError {
  return new DatabaseError("INTERNAL", `Not a usable tar archive: ${why}`);
}

function text(header: Uint8Array, offset: number, length: number): string {
  const field = header.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return Buffer.from(end < 0 ? field : field.subarray(0, end)).toString("utf8");
}

function octal(header: Uint8Array, offset: number, length: number, what: string): number {
  const raw = text(header, offset, length).trim();
  if (!/^[0-7]+$/.test(raw)) throw corrupt(`bad ${what} field "${raw}"`);
  return Number.parseInt(raw, 8);
}

/** The header's checksum: the sum of its bytes, the checksum field itself counted as spaces. */
function headerSum(header: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (header[i] as number);
  return sum;
}

/** Where the run of whole zero pages that ends `data` starts (`data.length` when there is none). */
function zeroTailStart(data: Uint8Array): number {
  let end = data.length;
  while (end >= PAGE && Buffer.compare(data.subarray(end - PAGE, end), ZERO_PAGE) === 0) end -= PAGE;
  return end;
}

/**
 * A file's zero tail becomes a hole (the file is extended by truncate), which reads back as the same
 * zeros without being written: most of a new database's 16 MiB WAL segment is such zeros.
 */
function writeFile(path: string, data: Uint8Array): void {
  const end = zeroTailStart(data);
  if (data.length - end < MIN_HOLE) {
    writeFileSync(path, data, { mode: 0o600 });
    return;
  }
  writeFileSync(path, data.subarray(0, end), { mode: 0o600 });
  truncateSync(path, data.length);
}

/**
 * Writes the regular files and directories of an uncompressed ustar archive (what PGlite's
 * `dumpDataDir("none")` produces) under `dir`, which must exist. It throws at the first entry it cannot
 * vouch for (a bad checksum, a truncated entry, a link, a path leaving `dir`), having written the
 * entries before it: callers extract into a scratch directory and discard it on error.
 */
export function untar(archive: Uint8Array, dir: string): void {
  const root = resolve(dir);
  const made = new Set([root]);
  const mkdir = (path: string) => {
    if (made.has(path)) return;
    makeDirectories(path, 0o700);
    made.add(path);
  };
  let offset = 0;
  while (offset + BLOCK <= archive.length) {
    const header = archive.subarray(offset, offset + BLOCK);
    if (Buffer.compare(header, ZERO_PAGE.subarray(0, BLOCK)) === 0) return; // the end-of-archive blocks
    if (octal(header, 148, 8, "checksum") !== headerSum(header)) throw corrupt(`header checksum mismatch at byte ${offset}`);
    const prefix = text(header, 345, 155);
    const name = prefix ? `${prefix}/${text(header, 0, 100)}` : text(header, 0, 100);
    const size = octal(header, 124, 12, "size");
    const type = String.fromCharCode(header[156] as number);
    // PGlite names entries from the data directory's root ("/base/1/1255").
    const target = resolve(root, name.replace(/^\/+/, ""));
    const inside = relative(root, target);
    if (inside === ".." || inside.startsWith(`..${sep}`) || isAbsolute(inside))
      throw corrupt(`entry "${name}" lies outside the target directory`);
    const start = offset + BLOCK;
    if (start + size > archive.length) throw corrupt(`entry "${name}" is truncated`);
    if (type === "5") {
      mkdir(target);
    } else if ((type === "0" || type === "\0") && inside) {
      mkdir(dirname(target));
      writeFile(target, archive.subarray(start, start + size));
    } else {
      throw corrupt(`entry "${name}" has unsupported type "${type}"`);
    }
    offset = start + Math.ceil(size / BLOCK) * BLOCK;
  }
  throw corrupt("it ends without an end-of-archive block");
}
