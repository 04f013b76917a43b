#!/usr/bin/env node
// The `reev` command as package managers link it: a file present before any build, so a fresh
// checkout's `pnpm install` can link it too. It runs the built CLI.
import "../dist/bin.js";
