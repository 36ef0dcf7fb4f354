#!/usr/bin/env bash
# Rebuilds vendor/aws-local-stepfunctions-3.0.0-node20.tgz (and its manifest) from the registry's
# aws-local-stepfunctions 3.0.0, byte for byte:
#   scripts/vendor-aws-local-stepfunctions.sh          write the tarball and the manifest
#   scripts/vendor-aws-local-stepfunctions.sh --check  rebuild in a temporary folder and fail
#                                                      unless it equals what vendor/ holds
# Why the package is vendored, and how to stop: docs/development.md "Node versions".
#
# The patch, and nothing else:
# - package.json: engines.node ">=22.0.0" becomes ">=20.19.0" (this repository's floor), so that
#   `npm ci` on Node 20 prints no EBADENGINE warning;
# - build/main.node.cjs and build/main.node.esm.js (the files Node loads: exports "require" and
#   "import"; bin/CLI.cjs requires the first) start with vendor/aws-local-stepfunctions-node20-polyfill.js.
# The browser build is left as published. test/package/vendored-asl.test.ts checks the result
# against the manifest, offline.
#
# Needs the network (npm pack from the registry), GNU tar, gzip, openssl and node.
set -euo pipefail

readonly NAME=aws-local-stepfunctions
readonly VERSION=3.0.0
# The registry's tarball of aws-local-stepfunctions@3.0.0, as package-lock.json locked it before
# the package was vendored: the build stops if the registry ever serves other bytes.
readonly UPSTREAM_INTEGRITY='sha512-Ey6alNmQOk+v1TcRItZakz+MgWTNyw11NOjOpyvohV9zt6s+C0THFHfnqR+PSaK62m1gRLYv4ZrFfEVlnBM0Sw=='
readonly UPSTREAM_ENGINES='"node": ">=22.0.0"'
readonly PATCHED_ENGINES='"node": ">=20.19.0"'
readonly PATCHED_ENTRIES=(build/main.node.cjs build/main.node.esm.js)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
readonly POLYFILL="vendor/${NAME}-node20-polyfill.js"
readonly TARBALL="vendor/${NAME}-${VERSION}-node20.tgz"
readonly MANIFEST="vendor/${NAME}-${VERSION}-node20.json"

fail() {
  echo "vendor-aws-local-stepfunctions: $*" >&2
  exit 1
}

integrity_of() {
  echo "sha512-$(openssl dgst -sha512 -binary "$1" | base64 -w0)"
}

# Downloads the registry's tarball into $1 and prints its path, or stops if its hash differs.
fetch_upstream() {
  local dir="$1" file
  file="$(cd "$dir" && npm pack "${NAME}@${VERSION}" --silent --ignore-scripts)"
  [[ "$(integrity_of "$dir/$file")" == "$UPSTREAM_INTEGRITY" ]] ||
    fail "the registry's ${NAME}@${VERSION} is not the tarball recorded here ($(integrity_of "$dir/$file"))"
  echo "$dir/$file"
}

# Writes the manifest: every upstream file's sha512 and size, and what the patch changes.
write_manifest() {
  local unpacked="$1" out="$2"
  (cd "$unpacked" && LC_ALL=C find package -type f | LC_ALL=C sort) |
    node -e '
      const { createHash } = require("node:crypto");
      const { readFileSync } = require("node:fs");
      const [unpacked, upstreamIntegrity, tarball, polyfill, upstreamEngines, patchedEngines, ...entries] =
        process.argv.slice(1);
      const upstreamFiles = {};
      for (const path of readFileSync(0, "utf8").split("\n").filter(Boolean)) {
        const bytes = readFileSync(`${unpacked}/${path}`);
        upstreamFiles[path] = { sha512: createHash("sha512").update(bytes).digest("base64"), size: bytes.length };
      }
      const patched = { "package/package.json": `engines: ${upstreamEngines} -> ${patchedEngines}` };
      for (const entry of entries) patched[`package/${entry}`] = `prepended: ${polyfill}`;
      const manifest = { package: "aws-local-stepfunctions", version: "3.0.0", upstreamIntegrity, tarball, polyfill };
      process.stdout.write(JSON.stringify({ ...manifest, upstreamFiles, patched }, null, 2) + "\n");
    ' "$unpacked" "$UPSTREAM_INTEGRITY" "$TARBALL" "$POLYFILL" "$UPSTREAM_ENGINES" "$PATCHED_ENGINES" \
    "${PATCHED_ENTRIES[@]}" >"$out"
}

# Applies the patch to the unpacked package in $1.
patch_package() {
  local pkg="$1/package" entry
  [[ "$(grep -cF "$UPSTREAM_ENGINES" "$pkg/package.json")" == 1 ]] ||
    fail "package.json does not declare $UPSTREAM_ENGINES exactly once"
  sed -i "s/${UPSTREAM_ENGINES//\"/\\\"}/${PATCHED_ENGINES//\"/\\\"}/" "$pkg/package.json"
  [[ "$(grep -cF "$PATCHED_ENGINES" "$pkg/package.json")" == 1 ]] || fail "package.json engines not patched"
  for entry in "${PATCHED_ENTRIES[@]}"; do
    cat "$ROOT/$POLYFILL" "$pkg/$entry" >"$pkg/$entry.patched"
    mv "$pkg/$entry.patched" "$pkg/$entry"
  done
}

# Packs $1/package into $2 with fixed names, order, owners, modes and times (npm's own mtime), and
# gzip without a name or time stamp: the same input gives the same bytes.
pack_deterministically() {
  local unpacked="$1" out="$2" file
  while IFS= read -r file; do
    if [[ -x "$unpacked/$file" ]]; then chmod 755 "$unpacked/$file"; else chmod 644 "$unpacked/$file"; fi
  done < <(cd "$unpacked" && LC_ALL=C find package -type f)
  (cd "$unpacked" && LC_ALL=C find package -type f | LC_ALL=C sort) |
    tar --format=ustar --owner=0 --group=0 --numeric-owner --mtime='1985-10-26 08:15:00Z' \
      --no-recursion -C "$unpacked" -T - -cf - |
    gzip -9 -n >"$out"
}

# Builds the tarball and the manifest into the folder $1, working in the folder $2.
build_into() {
  local out="$1" work="$2" upstream
  upstream="$(fetch_upstream "$work")"
  mkdir "$work/unpacked"
  tar -xzf "$upstream" -C "$work/unpacked" --no-same-owner
  mkdir -p "$out/vendor"
  write_manifest "$work/unpacked" "$out/$MANIFEST"
  patch_package "$work/unpacked"
  pack_deterministically "$work/unpacked" "$out/$TARBALL"
}

main() {
  local work
  work="$(mktemp -d)"
  # shellcheck disable=SC2064 # the folder is known now
  trap "rm -rf '$work'" EXIT
  mkdir "$work/build"
  if [[ "${1:-}" == "--check" ]]; then
    local scratch="$work/check"
    mkdir "$scratch"
    build_into "$scratch" "$work/build"
    cmp "$scratch/$TARBALL" "$ROOT/$TARBALL" || fail "$TARBALL differs from a fresh build"
    cmp "$scratch/$MANIFEST" "$ROOT/$MANIFEST" || fail "$MANIFEST differs from a fresh build"
    echo "$TARBALL and $MANIFEST are reproducible ($(integrity_of "$ROOT/$TARBALL"))"
  else
    build_into "$ROOT" "$work/build"
    echo "wrote $TARBALL ($(integrity_of "$ROOT/$TARBALL")) and $MANIFEST"
  fi
}

main "$@"
