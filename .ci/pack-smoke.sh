#!/usr/bin/env bash
# The packages as a user gets them: `pnpm pack` @reev/db, @reev/orchestrator, @reev/server and @reev/cli, check what
# the tarballs hold, install them with npm into a scratch directory outside the repository, and run
# `reev demo` there on the embedded database. Proves that no package reads a file by a path into the
# repository at run time, and that each ships what it needs (the generated Prisma client, the
# migrations, the PGlite template, the example flows). Run it by hand too: bash .ci/pack-smoke.sh
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
packages=(db orchestrator server cli)

fail() {
  printf 'pack-smoke: %s\n' "$*" >&2
  exit 1
}

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir "$scratch/tarballs" "$scratch/app" "$scratch/tmp"

# From empty dist folders, so nothing a previous build left behind can be packed.
for p in "${packages[@]}"; do rm -rf "packages/$p/dist"; done
pnpm exec turbo run build --filter=@reev/cli... --output-logs=errors-only >/dev/null

for p in "${packages[@]}"; do
  (cd "packages/$p" && pnpm pack --pack-destination "$scratch/tarballs" >/dev/null)
done
tarball() { ls "$scratch/tarballs/reev-$1-"*.tgz; }
for p in "${packages[@]}"; do tar -tzf "$(tarball "$p")" >"$scratch/$p.files"; done
listing() { cat "$scratch/$1.files"; }
manifest() { tar -xzOf "$(tarball "$1")" package/package.json; }
has() { grep -qE "$2" "$scratch/$1.files" || fail "@reev/$1's tarball has no $2"; }
count() { grep -cE "$2" "$scratch/$1.files" || true; }

for p in "${packages[@]}"; do
  # workspace:* must be rewritten to the version of the package it names, which is in its own tarball.
  if manifest "$p" | grep -q '"workspace:'; then fail "@reev/$p's package.json still says workspace:"; fi
  for dep in $(manifest "$p" | node -e 'const m = JSON.parse(require("fs").readFileSync(0, "utf8")); for (const [n, v] of Object.entries(m.dependencies ?? {})) if (n.startsWith("@reev/")) console.log(`${n.slice(6)}@${v}`)'); do
    want=$(manifest "${dep%@*}" | node -p 'JSON.parse(require("fs").readFileSync(0, "utf8")).version')
    [[ ${dep#*@} == "$want" ]] || fail "@reev/$p depends on @reev/$dep, but the packed @reev/${dep%@*} is $want"
  done
  # Only what runs: no tests, fixtures, sources or source maps.
  stray=$(listing "$p" | grep -E '(^|/)(test|src)/|\.test\.|\.map$' || true)
  [[ -z $stray ]] || fail "@reev/$p's tarball holds files it must not ship:"$'\n'"$stray"
done
has db '^package/dist/generated/prisma/client\.js$'
has db '^package/dist/prisma/schema\.prisma$'
committed=$(find prisma/migrations -name migration.sql | wc -l)
[[ $(count db '^package/dist/prisma/migrations/[^/]+/migration\.sql$') -eq $committed ]] ||
  fail "@reev/db's tarball does not hold the $committed committed migrations"
[[ $(count db '^package/dist/pglite-template/[^/]+\.tpl$') -eq 1 ]] || fail "@reev/db's tarball does not hold exactly one PGlite template"
has cli '^package/bin/reev\.js$'
has cli '^package/dist/bin\.js$'
examples=$(find packages/cli/examples -name '*.yaml' | wc -l)
[[ $(count cli '^package/examples/[^/]+\.yaml$') -eq $examples ]] || fail "@reev/cli's tarball does not hold the $examples example flows"
echo "pack-smoke: tarballs hold what they need: $(cd "$scratch/tarballs" && ls | tr '\n' ' ')"

cd "$scratch/app"
echo '{ "name": "reev-pack-smoke", "private": true }' >package.json
npm install --no-audit --no-fund --loglevel=error "$scratch"/tarballs/*.tgz >/dev/null
# Nothing from the repository, and an empty temporary directory: no cached PGlite template can stand
# in for the bundled one.
export TMPDIR="$scratch/tmp"
unset REEV_DATABASE_URL DATABASE_URL
export CI=1

# The installed @reev/db finds its bundled template for its own migrations (else every new embedded
# database would silently pay initdb).
node --input-type=module -e '
  import { fileURLToPath } from "node:url";
  import { MIGRATIONS_DIR } from "@reev/db/internal";
  const dist = new URL("./", import.meta.resolve("@reev/db"));
  const { findPgliteTemplate } = await import(new URL("pglite-template.js", dist));
  const { readMigrationList } = await import(new URL("migrate/migration-files.js", dist));
  const home = fileURLToPath(new URL("../", dist));
  if (!MIGRATIONS_DIR.startsWith(home)) throw new Error(`@reev/db reads its migrations from ${MIGRATIONS_DIR}, outside ${home}`);
  if (!(await findPgliteTemplate(await readMigrationList(MIGRATIONS_DIR)))) throw new Error("the installed @reev/db has no template for its migrations");
'

status=0
./node_modules/.bin/reev demo >demo.out 2>demo.err || status=$?
if ((status != 0)); then
  cat demo.out demo.err >&2
  fail "reev demo exited $status"
fi
[[ $(ls reev-out/*.mmd | wc -l) -eq $examples && $(ls reev-out/*.html | wc -l) -eq $examples ]] ||
  fail "reev demo wrote $(ls reev-out | tr '\n' ' '), not a .mmd and an .html per example"
for f in reev-out/*.mmd; do [[ $(head -n 1 "$f") == stateDiagram-v2 ]] || fail "$f is not a Mermaid state diagram"; done
listed=$(./node_modules/.bin/reev list | grep -c '^exec_' || true)
[[ $listed -eq $examples ]] || fail "reev list shows $listed runs after the demo, not $examples"
# The OpenTelemetry export loads its SDK only when used: an installed reev must find it. Port 1 has no
# collector, so the export must fail in words (exit 1), not on a missing module.
first=$(./node_modules/.bin/reev list --limit 1 | grep -o '^exec_[^ ]*')
status=0
OTEL_EXPORTER_OTLP_TIMEOUT=1000 ./node_modules/.bin/reev export "$first" --format otlp --endpoint http://127.0.0.1:1/v1/traces >otlp.out 2>otlp.err || status=$?
((status == 1)) && grep -q '^reev: Could not send execution' otlp.err || {
  cat otlp.out otlp.err >&2
  fail "reev export --format otlp exited $status without saying the endpoint could not be reached"
}
echo "pack-smoke: npm-installed reev demo in $scratch/app: exit 0, $examples runs recorded on the embedded database, $(ls reev-out | wc -l) diagram files"
cd "$repo"
