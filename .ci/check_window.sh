#!/usr/bin/env bash
# Real-window check of the desktop app: runs it under a private Xvfb with
# Mesa's software Vulkan, lets it take 20 steps of the default scene (and of
# two runs in compare mode), saves a screenshot through the app's own
# --screenshot path, and checks the PNG:
#   - the app exited 0 and wrote the file;
#   - its size equals the window's (the app logs "window size: WxH");
#   - it is not blank;
#   - both cloud colours are present (Okabe-Ito blue #0072B2, orange #E69F00);
#   - the egui panels are drawn (their dark fill covers a sizeable area) and
#     the 3-D view's light background is visible;
#   - every view the app logs shows both clouds (compare mode: two views).
# Needs target/debug/sdflow (built by `cargo test` / `cargo build`).
# Installs what is missing with apt-get (as root). Exits non-zero on failure.
set -u
cd "$(dirname "$0")/.."
bin=${SDFLOW_BIN:-target/debug/sdflow}
steps=20
fail() { echo "check_window: FAIL: $*" >&2; exit 1; }
[ -x "$bin" ] || fail "$bin not found; build it first (cargo build)"

need=()
command -v Xvfb >/dev/null || need+=(xvfb)
# `identify` rather than `convert`: some machines ship a `convert` stand-in.
command -v identify >/dev/null || need+=(imagemagick)
[ -e /usr/share/vulkan/icd.d/lvp_icd.x86_64.json ] || need+=(mesa-vulkan-drivers libvulkan1)
ldconfig -p | grep -q libxkbcommon-x11 || need+=(libxkbcommon-x11-0)
ldconfig -p | grep -q libXcursor || need+=(libxcursor1)
ldconfig -p | grep -q libXrandr || need+=(libxrandr2)
ldconfig -p | grep -q 'libXi\.so' || need+=(libxi6)
command -v python3 >/dev/null || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
  echo "check_window: installing ${need[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  ($sudo_cmd apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need[@]}") >/dev/null 2>&1 \
    || fail "apt-get install ${need[*]} failed"
fi

tmp=$(mktemp -d)
d=90; while [ -e /tmp/.X11-unix/X$d ] || [ -e /tmp/.X$d-lock ]; do d=$((d+1)); done
Xvfb :$d -screen 0 1600x1000x24 -nolisten tcp >"$tmp/xvfb.log" 2>&1 & xpid=$!
cleanup() { kill "$xpid" 2>/dev/null; wait "$xpid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
sleep 1.5
kill -0 "$xpid" 2>/dev/null || fail "Xvfb did not start: $(cat "$tmp/xvfb.log")"

# shoot NAME ARGS...: runs the app with ARGS and a screenshot after $steps
# steps, checks the PNG as above, and in every view rectangle the app logs
# ("view rect: x y w h") both clouds' colours.
shoot() {
  local name=$1; shift
  local shot=$tmp/$name.png log=$tmp/$name.log
  echo "check_window: running $bin $* --screenshot --after $steps on display :$d (software Vulkan; this is slow)"
  DISPLAY=:$d timeout 480 "$bin" "$@" --screenshot "$shot" --after $steps >"$log" 2>&1
  local rc=$?
  if [ $rc -ne 0 ]; then
    tail -30 "$log" >&2
    fail "$name: the app exited with $rc"
  fi
  echo "ok: the app exited 0"
  [ -s "$shot" ] || { tail -30 "$log" >&2; fail "$name: no screenshot written"; }
  echo "ok: screenshot written"

  local size img_size
  size=$(grep -o 'window size: [0-9]*x[0-9]*' "$log" | tail -1 | sed 's/window size: //')
  [ -n "$size" ] || fail "$name: the app did not log its window size"
  img_size=$(identify -format '%wx%h' "$shot") || fail "identify cannot read the PNG"
  [ "$img_size" = "$size" ] || fail "$name: PNG is $img_size but the window is $size"
  echo "ok: PNG size $img_size equals the window size"
  grep -o 'view rect: [0-9 ]*' "$log" | sed 's/view rect: //' >"$tmp/$name.views"

  convert "$shot" -depth 8 rgb:"$tmp/$name.rgb" || fail "convert cannot decode the PNG"
  python3 - "$tmp/$name.rgb" "${size%x*}" "$tmp/$name.views" <<'PY' || exit 1
import sys
data = open(sys.argv[1], "rb").read()
width = int(sys.argv[2])
views = [tuple(int(v) for v in line.split()) for line in open(sys.argv[3]) if line.strip()]
n = len(data) // 3
def near(rgb, tol, rect=None):
    r0, g0, b0 = rgb
    count = 0
    x0, y0, w, h = rect if rect else (0, 0, width, n // width)
    for y in range(y0, y0 + h):
        row = (y * width + x0) * 3
        for i in range(row, row + 3 * w, 3):
            if abs(data[i] - r0) <= tol and abs(data[i + 1] - g0) <= tol and abs(data[i + 2] - b0) <= tol:
                count += 1
    return count
BLUE, ORANGE = (0x00, 0x72, 0xB2), (0xE6, 0x9F, 0x00)
checks = []
distinct = len({data[i:i + 3] for i in range(0, len(data), 3 * 7)})
checks.append(("not blank (distinct colours in a sample)", distinct, distinct >= 20))
blue = near(BLUE, 24)
orange = near(ORANGE, 24)
checks.append(("target cloud blue #0072B2 pixels", blue, blue >= 300))
checks.append(("moving cloud orange #E69F00 pixels", orange, orange >= 300))
panel = near((27, 27, 27), 6)
checks.append(("egui panel fill pixels (>= 15% of the window)", panel, panel >= 0.15 * n))
background = near((0xF4, 0xF4, 0xF4), 4)
checks.append(("3-D view background pixels (>= 15% of the window)", background, background >= 0.15 * n))
checks.append(("views logged", len(views), len(views) >= 1))
for k, rect in enumerate(views):
    b, o = near(BLUE, 24, rect), near(ORANGE, 24, rect)
    checks.append((f"view {k + 1} at {rect}: blue and orange pixels", (b, o), b >= 100 and o >= 100))
ok = True
for what, value, passed in checks:
    print(("ok: " if passed else "FAIL: ") + f"{what}: {value}")
    ok &= passed
sys.exit(0 if ok else 1)
PY
}

shoot default scenes/swiss_to_mystery.ron
# Compare mode: two runs in split views, both drawn.
shoot compare scenes/mystery_offset.ron --compare scenes/mystery_offset_mmd.ron
[ "$(wc -l <"$tmp/compare.views")" -eq 2 ] || fail "compare: expected 2 views, the app logged $(wc -l <"$tmp/compare.views")"
echo "ok: compare mode drew 2 views"
echo "check_window: all checks passed"
