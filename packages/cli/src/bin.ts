#!/usr/bin/env node
// The `reev` executable. Kept apart from main.ts, which tests import: an installed bin is reached
// through a symlink, so "am I the entry point?" checks on process.argv[1] would not recognise it.
import { main } from "./main.js";

process.exitCode = await main(process.argv.slice(2));
