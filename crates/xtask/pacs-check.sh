#!/usr/bin/env bash
# Checks the PACS of `cargo xtask pacs` for real, from inside its namespace, with curl:
#
#   cargo build -p obscura
#   cargo xtask pacs --fault none --viewer-origin https://viewer.test --basic alice:s3cret -- \
#       crates/xtask/pacs-check.sh target/debug/obscura
#
# Seals a 2-slice synthetic CT with the obscura CLI, pushes the CT and the carriers with STOW-RS,
# lists them with QIDO-RS, fetches them with WADO-RS and the raw endpoint (byte ranges), checks
# CORS, the bearer token and (with --fault) every fault kind. Exits non-zero on the first failure.
set -euo pipefail

obscura=$(realpath "${1:?usage: pacs-check.sh PATH-TO-obscura}")
origin=${CHECK_ORIGIN:-https://viewer.test}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
# curl with the CA and the token; HTTP/2 is negotiated by ALPN.
c() { curl -sS --http2 --cacert "$OBSCURA_PACS_CA" -H "Authorization: Bearer $OBSCURA_PACS_TOKEN" "$@"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }

"$obscura" synthetic-ct --out ct --slices 2 >/dev/null
"$obscura" org init --name "PACS check" --keys keys >/dev/null
"$obscura" gateway init --name gw --keys keys >/dev/null
"$obscura" seal --keys keys --store store ct >/dev/null
mapfile -t carriers < <(find store -name instance.dcm | sort)
[ ${#carriers[@]} -eq 3 ] || fail "expected 3 carriers, got ${#carriers[@]}"

# --- (a) STOW-RS, over HTTP/2 -------------------------------------------------------------------
stow() {
    local b="obscura-check-$RANDOM$RANDOM" f
    : > body
    for f in "$@"; do
        printf -- '--%s\r\nContent-Type: application/dicom\r\n\r\n' "$b" >> body
        cat "$f" >> body
        printf '\r\n' >> body
    done
    printf -- '--%s--\r\n' "$b" >> body
    c -H "Expect:" -H "Content-Type: multipart/related; type=\"application/dicom\"; boundary=$b" \
        -H "Accept: application/dicom+json" --data-binary @body -o stow.json -w '%{http_code} %{http_version}' \
        "$OBSCURA_PACS_URL/studies"
}
[ "$(stow ct/*.dcm "${carriers[@]}")" = "200 2" ] || fail "STOW-RS: $(cat stow.json)"
json 'assert not d.get("00081198", {}).get("Value"), d["00081198"]; print(len(d["00081199"]["Value"]))' < stow.json \
    | grep -qx 5 || fail "STOW-RS did not store 5 instances: $(cat stow.json)"
ok "STOW-RS stored 2 CT instances and 3 carriers (HTTP/2)"

# --- (b) QIDO-RS -------------------------------------------------------------------------------
study=$(cut -d/ -f3 <<< "${carriers[0]}")
c "$OBSCURA_PACS_URL/studies" | json 'print(len(d))' | grep -qx 2 || fail "QIDO /studies"
c "$OBSCURA_PACS_URL/studies/$study/instances" > instances.json
json 'print(len(d))' < instances.json | grep -qx 3 || fail "QIDO /studies/$study/instances"
c "$OBSCURA_PACS_URL/instances?SeriesDescription=OBSCURA?SEALED?MANIFEST" \
    | json 'print([e["0008103E"]["Value"][0] for e in d])' | grep -qx "\['OBSCURA SEALED MANIFEST'\]" \
    || fail "instance-level QIDO across studies with a SeriesDescription filter"
# Orthanc 1.10.1 + DICOMweb 1.7 do not URL-decode QIDO values: %20 is compared literally.
spaces=$(c "$OBSCURA_PACS_URL/instances?SeriesDescription=OBSCURA%20SEALED%20MANIFEST" | json 'print(len(d))')
ok "QIDO: /studies, /studies/{uid}/instances, /instances?SeriesDescription=OBSCURA?SEALED?MANIFEST (with %20: $spaces hits)"

# --- (c) WADO-RS retrieve, byte-identical ------------------------------------------------------
for f in "${carriers[@]}" ; do
    IFS=/ read -r _ _ st _ se _ sop _ <<< "$f"
    c -H 'Accept: multipart/related; type="application/dicom"; transfer-syntax=*' -D wado.h -o wado.bin \
        "$OBSCURA_PACS_URL/studies/$st/series/$se/instances/$sop"
    python3 - wado.bin wado.h "$f" <<'EOF'
import re, sys
data, head, want = open(sys.argv[1], 'rb').read(), open(sys.argv[2]).read(), open(sys.argv[3], 'rb').read()
b = re.search(r'boundary=("?)([^";\r\n]+)\1', head, re.I).group(2).encode()
parts = data.split(b'--' + b)[1:-1]
assert len(parts) == 1, len(parts)
body = parts[0].split(b'\r\n\r\n', 1)[1]
assert body[:-2] == want, 'WADO-RS answer differs from the stored file'
EOF
done
ok "WADO-RS (transfer-syntax=*) returns each carrier byte-identical"

# --- (d) Orthanc IDs and the raw endpoint with byte ranges -------------------------------------
orthanc_id() {
    local h
    h=$(printf '%s|%s|%s|%s' "$@" | sha1sum | cut -c1-40)
    echo "${h:0:8}-${h:8:8}-${h:16:8}-${h:24:8}-${h:32:8}"
}
json 'print("\n".join(" ".join(e[t]["Value"][0] for t in ("00100020","0020000D","0020000E","00080018")) for e in d))' \
    < instances.json > uids.txt
while read -r patient st se sop; do
    id=$(orthanc_id "$patient" "$st" "$se" "$sop")
    sealed="store/studies/$st/series/$se/instances/$sop/sealed.bin"
    n=$(stat -c %s "$sealed")
    code=$(c -o raw.bin -w '%{http_code}' "$OBSCURA_PACS_RAW/instances/$id/content/0009-1010")
    [ "$code" = 200 ] || fail "raw endpoint for $id: $code"
    cmp -s <(head -c "$n" raw.bin) "$sealed" || fail "raw bytes of $id differ from sealed.bin"
    padded=$(stat -c %s raw.bin)
    [ "$padded" = $((n + n % 2)) ] || fail "raw length $padded for a sealed length $n"
    code=$(c -o range.bin -D range.h -w '%{http_code}' -H 'Range: bytes=10-99' "$OBSCURA_PACS_RAW/instances/$id/content/0009-1010")
    [ "$code" = 206 ] && grep -qi "^content-range: bytes 10-99/$padded" range.h || fail "Range on $id: $code $(cat range.h)"
    cmp -s range.bin <(tail -c +11 "$sealed" | head -c 90) || fail "Range bytes of $id"
    echo "   $id: $n sealed bytes, raw value $padded (even), bytes 10-99 → 206"
done < uids.txt
last_id=$id
c -I -o /dev/null -w '%{http_code}' "$OBSCURA_PACS_RAW/instances/$last_id/content/0009-1010" | grep -qx 200 || fail "HEAD on the raw endpoint"
for p in "/orthanc/instances/$last_id/content/7fe0-0010" "/orthanc/instances/$last_id/file" /orthanc/system /system /instances /dicom-web/servers; do
    code=$(c -o /dev/null -w '%{http_code}' "${OBSCURA_PACS_URL%/dicom-web}$p")
    [ "$code" = 404 ] || fail "$p should not be exposed (got $code)"
done
ok "Orthanc ID = SHA-1(PatientID|Study|Series|SOP) as 8-8-8-8-8; raw endpoint with 206 ranges, HEAD; nothing else of Orthanc's API"

# --- (e) CORS ----------------------------------------------------------------------------------
curl -sS --http2 --cacert "$OBSCURA_PACS_CA" -X OPTIONS -D pre.h -o /dev/null -H "Origin: $origin" \
    -H 'Access-Control-Request-Method: GET' -H 'Access-Control-Request-Headers: authorization,range' \
    "$OBSCURA_PACS_RAW/instances/$last_id/content/0009-1010"
grep -q '^HTTP/2 204' pre.h && grep -qi "^access-control-allow-origin: $origin" pre.h \
    && grep -qi '^access-control-allow-headers: .*Range' pre.h || fail "preflight for $origin: $(cat pre.h)"
curl -sS --http2 --cacert "$OBSCURA_PACS_CA" -X OPTIONS -D pre2.h -o /dev/null -H "Origin: https://other.invalid" \
    -H 'Access-Control-Request-Method: GET' "$OBSCURA_PACS_URL/studies"
! grep -qi '^access-control-allow-origin' pre2.h || fail "CORS allowed for another origin"
c -D get.h -o /dev/null -H "Origin: $origin" "$OBSCURA_PACS_URL/studies"
grep -qi "^access-control-allow-origin: $origin" get.h && grep -qi '^access-control-expose-headers: Content-Range' get.h \
    || fail "CORS headers on GET: $(cat get.h)"
ok "CORS: preflight 204 for $origin without a token, none for other origins, exposed headers"

# --- (f) bearer token --------------------------------------------------------------------------
code=$(curl -sS --http2 --cacert "$OBSCURA_PACS_CA" -D noauth.h -o /dev/null -w '%{http_code}' -H "Origin: $origin" "$OBSCURA_PACS_URL/studies")
[ "$code" = 401 ] && grep -qi '^www-authenticate: Bearer realm="obscura-pacs"' noauth.h \
    && grep -qi "^access-control-allow-origin: $origin" noauth.h || fail "without a token: $code $(cat noauth.h)"
code=$(curl -sS --http2 --cacert "$OBSCURA_PACS_CA" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ${OBSCURA_PACS_TOKEN}x" "$OBSCURA_PACS_URL/studies")
[ "$code" = 401 ] || fail "with a wrong token: $code"
ok "401 with WWW-Authenticate: Bearer without or with a wrong token"

# --- (g) only loopback in the namespace --------------------------------------------------------
[ "$(ip -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')" = "lo " ] || fail "interfaces other than lo: $(ip -o link show)"
ok "the namespace has only lo"

# --- (h) faults --------------------------------------------------------------------------------
if [ -n "${OBSCURA_PACS_FAULT_PLAN:-}" ]; then
    url="$OBSCURA_PACS_RAW/instances/$last_id/content/0009-1010"
    fetch() { c -o fault.bin -w '%{http_code} %{size_download}' "$@" "$url" 2>/dev/null || true; }
    full=$(stat -c %s raw.bin)
    echo '503@2,reset@3,truncate@4,stall:2@5,delay:300@6' > "$OBSCURA_PACS_FAULT_PLAN"
    [ "$(fetch)" = "200 $full" ] || fail "request 1 should pass"
    [ "$(fetch | cut -d' ' -f1)" = 503 ] || fail "503@2"
    [ "$(fetch)" = "200 $((full / 2))" ] || fail "reset@3"
    [ "$(fetch)" = "200 $((full * 3 / 4))" ] || fail "truncate@4"
    start=$(date +%s%N); [ "$(fetch)" = "200 $((full / 2))" ] || fail "stall@5"
    [ $(( ($(date +%s%N) - start) / 1000000 )) -ge 1900 ] || fail "stall@5 did not stall"
    start=$(date +%s%N); [ "$(fetch)" = "200 $full" ] || fail "delay@6"
    [ $(( ($(date +%s%N) - start) / 1000000 )) -ge 290 ] || fail "delay@6 did not delay"
    echo 'reset@*' > "$OBSCURA_PACS_FAULT_PLAN"
    [ "$(fetch -H 'Range: bytes=10-99')" = "206 45" ] || fail "reset inside a range"
    [ "$(c -o /dev/null -w '%{http_code}' "$OBSCURA_PACS_URL/studies")" = 200 ] || fail "QIDO should pass reset@*"
    echo down > "$OBSCURA_PACS_FAULT_PLAN"
    [ "$(c -o /dev/null -w '%{http_code}' "$OBSCURA_PACS_URL/studies")" = 503 ] || fail "QIDO when down"
    [ "$(stow ct/CT0001.dcm | cut -d' ' -f1)" = 503 ] || fail "STOW when down"
    echo none > "$OBSCURA_PACS_FAULT_PLAN"
    [ "$(fetch)" = "200 $full" ] || fail "back up"
    grep -q '#3 reset GET /instances/' "$OBSCURA_PACS_FAULT_LOG" || fail "fault log: $(cat "$OBSCURA_PACS_FAULT_LOG")"
    ok "faults: 503, reset, truncate, stall, delay by request number; inside a range; down and back up"
else
    echo "skipped: faults (run with --fault none)"
fi
echo "all PACS checks passed"
