#!/usr/bin/env bash
# The landing page in a real browser: vmscaled against libvirt's test driver, with an analysis
# state seeded for its domain "test" (a baseline and buckets at N_up 1..4 for cpu_work and
# memory_copy), is rendered by headless Chromium. The DOM must hold the table and an inline SVG
# plot with real lines and no script; a screenshot (kept as an artifact) must show the first
# series' colour, so the plot is drawn, not only present in the markup.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
vmscaled=${1:?usage: landing_chromium.sh PATH/TO/vmscaled ARTIFACT_DIR}
artifacts=${2:?usage: landing_chromium.sh PATH/TO/vmscaled ARTIFACT_DIR}
command -v chromium >/dev/null || skip "chromium is not installed (scripts/bootstrap.sh installs it)"
command -v python3 >/dev/null || skip "python3 is not installed (scripts/bootstrap.sh installs it)"
command -v curl >/dev/null || skip "curl is not installed (scripts/bootstrap.sh installs it)"

tmp=$(mktemp -d /tmp/vmscale-test-chromium.XXXXXX)
pid=
browser=
cleanup() {
	# timeout(1) leads its own process group: killing the group ends every Chromium process.
	[ -n "$browser" ] && kill -- -"$browser" 2>/dev/null
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# The analysis state for the test driver's domain (its store key is its UUID). Signature
# 0 0 -: unknown, so the live domain never resets the seeded baselines.
mkdir -p "$tmp/state" "$artifacts"
python3 - "$tmp/state/analysis.state" <<'PY'
import sys, time, zlib
key = "6695eb01-f6a4-8304-79aa-97f2502e193f"
# Rates (more is better): slowdown = baseline / mean.
series = {"cpu_work": (27500000.0, [1.0, 1.1, 1.5, 2.0]),
          "memory_copy": (12500000000.0, [1.0, 1.05, 1.3, 1.7])}
lines = ["domain %s %d 0 0 - test" % (key, int(time.time()))]
for probe, (base, slowdowns) in series.items():
    lines.append("baseline %s 1 %.17g 1" % (probe, base))
    for n_up, s in enumerate(slowdowns, start=1):
        mean = base / s
        lines.append("bucket %s %d 10 %.17g 0 3 %.9g %.9g %.9g" % (probe, n_up, mean, mean, mean, mean))
lines.append("end 1")
payload = ("\n".join(lines) + "\n").encode()
head = b"vmscale-state analysis 1 %d " % len(payload)
crc = zlib.crc32(payload, zlib.crc32(head)) & 0xffffffff
with open(sys.argv[1], "wb") as f:
    f.write(head + b"%08x\n" % crc + payload)
PY
check "the seeded state file is written" test -s "$tmp/state/analysis.state"

port=$(free_port)
url=http://127.0.0.1:$port/
"$vmscaled" --connect test:///default --listen "127.0.0.1:$port" --interval 1 \
	--state-dir "$tmp/state" --control-socket "$tmp/state/c.sock" 2>"$tmp/vmscaled.log" &
pid=$!
plot_served() { curl -sf "$url" 2>/dev/null | grep -q 'slowdown vs N_up'; }
if ! wait_for 15 plot_served; then
	not_ok "vmscaled serves / with the plot"
	echo "--- vmscaled log"; cat "$tmp/vmscaled.log"
	finish
fi
ok "vmscaled serves / with the plot"
check "the daemon loaded the seeded state" grep -q 'analysis state loaded from' "$tmp/vmscaled.log"

# chromium_run OUT ARGS...: headless Chromium with a private profile, bounded, stdout to OUT.
chromium_run() {
	local out=$1
	shift
	timeout 60 chromium --headless --no-sandbox --disable-gpu --no-first-run \
		--user-data-dir="$tmp/profile" "$@" >"$out" 2>>"$tmp/chromium.log" &
	browser=$!
	wait "$browser"
	local rc=$?
	kill -- -"$browser" 2>/dev/null # any helper left behind
	browser=
	return "$rc"
}

chromium_run "$tmp/dom.html" --dump-dom "$url"
check "chromium --dump-dom exits 0" test $? -eq 0
dom=$(cat "$tmp/dom.html")
has() { grep -qF -- "$1" <<<"$dom"; }
check "the title says vmscaled" has '<title>vmscaled</title>'
check "N_up = 1" has 'N_up = <b>1</b>'
check "the table has the domain test" grep -qE '<tr><td>test</td><td>6695eb01-f6a4-8304-79aa-97f2502e193f</td>' <<<"$dom"
check "the plot is titled test: slowdown vs N_up" has 'test: slowdown vs N_up'
check "an inline <svg>" has '<svg'
check "a <polyline> with points" grep -qE '<polyline[^>]* points="[0-9.]+,[0-9.]+( [0-9.]+,[0-9.]+){3}"' <<<"$dom"
check "legend entry cpu_work" grep -qE '<text[^>]*>cpu_work</text>' <<<"$dom"
check "legend entry memory_copy" grep -qE '<text[^>]*>memory_copy</text>' <<<"$dom"
check "the warning reference line is labelled" grep -qE '<text[^>]*>warning</text>' <<<"$dom"
check "no <script" bash -c '! grep -qi "<script" "$1"' _ "$tmp/dom.html"

shot=$artifacts/landing.png
rm -f "$shot"
chromium_run "$tmp/shot.out" --screenshot="$shot" --window-size=1280,1000 "$url"
check "chromium --screenshot exits 0" test $? -eq 0
check "the screenshot is written" test -s "$shot"
echo "screenshot: $shot"
# Pixels of the first series' colour #0072b2 (anti-aliasing tolerated), decoded with zlib alone.
blue=$(python3 - "$shot" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
if data[:8] != b"\x89PNG\r\n\x1a\n":
    sys.exit("not a PNG")
pos, idat, hdr = 8, b"", None
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    pos += 12 + n
    if kind == b"IHDR":
        hdr = struct.unpack(">IIBBBBB", body)
    elif kind == b"IDAT":
        idat += body
    elif kind == b"IEND":
        break
w, h, depth, ctype, _, _, interlace = hdr
channels = {2: 3, 6: 4}.get(ctype)
if depth != 8 or not channels or interlace:
    sys.exit("unsupported PNG: depth %d, colour type %d, interlace %d" % (depth, ctype, interlace))
raw, bpp, stride = zlib.decompress(idat), channels, w * channels
prev, count, at = bytearray(stride), 0, 0
for y in range(h):
    f, line = raw[at], bytearray(raw[at + 1:at + 1 + stride])
    at += 1 + stride
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        if f == 1:
            line[i] = (line[i] + a) & 255
        elif f == 2:
            line[i] = (line[i] + b) & 255
        elif f == 3:
            line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        elif f != 0:
            sys.exit("bad filter %d" % f)
    for i in range(0, stride, bpp):
        if abs(line[i]) <= 40 and abs(line[i + 1] - 0x72) <= 40 and abs(line[i + 2] - 0xb2) <= 40:
            count += 1
    prev = line
print(count)
PY
)
echo "pixels near #0072b2: ${blue:-none}"
check "the screenshot shows the cpu_work line (> 50 pixels near #0072b2)" test "${blue:-0}" -gt 50 2>/dev/null

if [ "$fails" -gt 0 ]; then
	echo "--- vmscaled log"; tail -20 "$tmp/vmscaled.log"
	echo "--- chromium log"; tail -20 "$tmp/chromium.log"
	echo "--- DOM"; head -c 4000 "$tmp/dom.html"; echo
fi
finish
