#!/usr/bin/env bash
# Output written where it cannot go: a read-only folder and a full disk
# (small tmpfs mounts, as root). For each, `sdflow run` must fail with a
# message that names the file and the reason, exit non-zero, and leave no
# file (not even a half-written or temporary one) behind.
# Needs target/debug/sdflow (built by `cargo test`). Exits non-zero on failure.
set -u
cd "$(dirname "$0")/.."
bin=${SDFLOW_BIN:-target/debug/sdflow}
fail() { echo "faults: FAIL: $*" >&2; exit 1; }
[ -x "$bin" ] || fail "$bin not found; build it first (cargo build)"

tmp=$(mktemp -d)
cleanup() {
  umount "$tmp/ro" "$tmp/full" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/ro" "$tmp/full" "$tmp/file"

# Each case: a folder that refuses writes, the error words expected.
cases=()
if mount -t tmpfs -o size=64k,ro tmpfs "$tmp/ro" 2>/dev/null; then
  cases+=("$tmp/ro|Read-only file system")
fi
if mount -t tmpfs -o size=64k tmpfs "$tmp/full" 2>/dev/null; then
  # Fill it: every later write meets a full disk.
  dd if=/dev/zero of="$tmp/full/filler" bs=4k 2>/dev/null
  cases+=("$tmp/full|No space left on device")
fi
# Always possible, even without mount: a "folder" that is a regular file.
: > "$tmp/file/not-a-folder"
cases+=("$tmp/file/not-a-folder|Not a directory")
[ ${#cases[@]} -ge 3 ] || echo "faults: mount refused here; checking the not-a-folder case only"

for case in "${cases[@]}"; do
  dir=${case%%|*}
  words=${case#*|}
  for flag in --points --metrics --plot; do
    ext=csv
    [ "$flag" = --plot ] && ext=png
    out="$dir/out.$ext"
    err=$("$bin" run scenes/swiss_to_mystery.ron --steps 3 --quiet "$flag" "$out" 2>&1 >/dev/null)
    code=$?
    [ "$code" -ne 0 ] || fail "$flag $out: exit 0 although the file cannot be written"
    echo "$err" | grep -q "$out" || fail "$flag $out: the message does not name the file: $err"
    echo "$err" | grep -qi "$words" || fail "$flag $out: the message does not say '$words': $err"
    if [ -d "$dir" ]; then
      left=$(ls -A "$dir" | grep -v '^filler$')
      [ -z "$left" ] || fail "$flag $out: left files behind: $left"
    fi
    echo "faults: ok   $flag into ${dir#"$tmp"/} -> exit $code: $(echo "$err" | head -n1)"
  done
done
echo "faults: every unwritable output was refused cleanly"
