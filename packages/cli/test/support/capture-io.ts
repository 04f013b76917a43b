import { PassThrough } from "node:stream";
import type { CliIO } from "../../src/context.js";

/** A command's stdout and stderr, kept to read back: for the tests that call a command's function in process. */
export function captureIO(): CliIO & { out(): string; err(): string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (d: Buffer) => (out += d.toString()));
  stderr.on("data", (d: Buffer) => (err += d.toString()));
  return {
    stdout: stdout as unknown as NodeJS.WriteStream,
    stderr: stderr as unknown as NodeJS.WriteStream,
    out: () => out,
    err: () => err,
  };
}
