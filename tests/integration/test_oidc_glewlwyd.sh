#!/usr/bin/env bash
# test_oidc_glewlwyd.sh - chatter's OIDC verifier against a real provider (glewlwyd from Debian) started by the
# test on 127.0.0.1: access tokens for two users are accepted with distinct owners, the admin claim is honoured,
# tampered and wrong-audience tokens are refused, and a key rotation at the provider is followed without
# restarting the verifier (one long-lived `test_oidc --verify` process reading tokens from stdin).
# Exit 77 (skip) when glewlwyd is not installed.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${CHATTER_SOURCE_DIR:-$HERE/../..}
PROVIDER="$SRC/tests/oidc_provider.sh"
VERIFY="$(dirname "${CHATTER_BIN:?CHATTER_BIN must name the built chatter binary}")/test_oidc"
[ -x "$VERIFY" ] || { echo "FAIL: $VERIFY not built (it is the unit test binary, built next to chatter)"; exit 1; }
if ! command -v glewlwyd >/dev/null 2>&1; then
    echo "SKIP: glewlwyd is not installed (apt-get install glewlwyd)"
    exit 77
fi

TMP=$(mktemp -d)
VPID=""
cleanup() {
    if [ -n "$VPID" ]; then kill "$VPID" 2>/dev/null || true; fi
    bash "$PROVIDER" stop "$TMP/gw" || true
    rm -rf "$TMP"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*"
    echo "--- verifier log"; cat "$TMP/verify.log" 2>/dev/null || true
    echo "--- provider log (tail)"; tail -20 "$TMP/gw/glewlwyd.log" 2>/dev/null || true
    exit 1
}

bash "$PROVIDER" start "$TMP/gw"
# shellcheck disable=SC1091
. "$TMP/gw/env"
alice_sub=$(bash "$PROVIDER" sub "$TMP/gw" alice)
bob_sub=$(bash "$PROVIDER" sub "$TMP/gw" bob)
[ -n "$alice_sub" ] && [ -n "$bob_sub" ] && [ "$alice_sub" != "$bob_sub" ] || fail "provider gave no distinct subjects"

export OIDC_ISSUER OIDC_AUDIENCE OIDC_ALLOW_INSECURE_HTTP
export OIDC_REQUIRE_AT_JWT=1      # glewlwyd sends typ at+jwt (RFC 9068)
export OIDC_JWKS_MIN_REFRESH_S=1  # keeps the rotation step short; the default is 10 s
export OIDC_ADMIN_CLAIM=sub OIDC_ADMIN_VALUE="$alice_sub"  # glewlwyd has no role claim in access tokens

coproc VER { exec "$VERIFY" --verify 2>"$TMP/verify.log"; }
VPID=$VER_PID

# check TOKEN -> the verifier's one-line verdict
check() {
    local line
    printf '%s\n' "$1" >&"${VER[1]}"
    IFS= read -r -t 30 line <&"${VER[0]}" || fail "the verifier did not answer"
    printf '%s\n' "$line"
}
expect_ok() { # TOKEN WANT-LINE WHAT
    local got
    got=$(check "$1")
    [ "$got" = "$2" ] || fail "$3: expected '$2', got '$got'"
    echo "ok: $3"
}
expect_rejected() { # TOKEN DESCRIPTION-SUBSTRING WHAT
    local got
    got=$(check "$1")
    case "$got" in
        "rejected invalid "*"error=\"invalid_token\""*"$2"*) echo "ok: $3 rejected ($2)" ;;
        *) fail "$3: expected a 401-class rejection mentioning '$2', got '$got'" ;;
    esac
}

alice=$(bash "$PROVIDER" token "$TMP/gw" alice)
bob=$(bash "$PROVIDER" token "$TMP/gw" bob)

expect_ok "$alice" "ok $OIDC_ISSUER|$alice_sub admin=1" "alice's token accepted, owner = issuer|sub, admin"
expect_ok "$bob" "ok $OIDC_ISSUER|$bob_sub admin=0" "bob's token accepted, a different owner, not admin"

# alice's signature over bob's claims
IFS=. read -r ah _ as <<<"$alice"
IFS=. read -r _ bp _ <<<"$bob"
expect_rejected "$ah.$bp.$as" "bad signature" "alice's signature on bob's claims"

# a token for another scope carries aud "openid", not ours
other_aud=$(bash "$PROVIDER" token "$TMP/gw" alice openid)
expect_rejected "$other_aud" "audience" "token for another audience"

# the provider rotates its signing key; the same verifier process follows it
bash "$PROVIDER" rotate "$TMP/gw"
sleep 1.2 # past OIDC_JWKS_MIN_REFRESH_S since the verifier's first fetch
rotated=$(bash "$PROVIDER" token "$TMP/gw" alice)
old_kid=$(printf '%s' "$alice" | cut -d. -f1)
new_kid=$(printf '%s' "$rotated" | cut -d. -f1)
[ "$old_kid" != "$new_kid" ] || fail "rotation did not change the token header (kid)"
expect_ok "$rotated" "ok $OIDC_ISSUER|$alice_sub admin=1" "token signed with the rotated key accepted without restart"
expect_rejected "$alice" "unknown signing key" "token signed with the retired key"

exec {VER[1]}>&-
wait "$VPID" || true
VPID=""
echo "PASS: OIDC against glewlwyd"
