#!/usr/bin/env bash
# oidc_provider.sh - a real OpenID Connect provider (glewlwyd, Debian package) for chatter's tests.
#
#   oidc_provider.sh start DIR          start glewlwyd on 127.0.0.1 (random port), state in DIR; writes DIR/env
#   oidc_provider.sh token DIR USER     print an access token for USER (alice | bob | carol) via the password grant
#   oidc_provider.sh sub DIR USER       print USER's `sub` as the provider puts it in tokens
#   oidc_provider.sh rotate DIR         replace the provider's signing key (a new kid) without restarting it
#   oidc_provider.sh stop DIR           stop it (DIR is left for the caller to remove)
#
# DIR/env (shell syntax) holds what a test needs:
#   OIDC_ISSUER  OIDC_AUDIENCE  OIDC_ALLOW_INSECURE_HTTP=1  GW_URL (API base)  GW_CLIENT_ID  GW_CLIENT_SECRET
# Users: alice, bob and carol (the one tests make admin), all with scope "chatter". Passwords are random per run and live only in DIR.
# glewlwyd cannot add a role claim to access tokens, so tests that need an admin use OIDC_ADMIN_CLAIM=sub with
# one user's `sub` (print it with: oidc_provider.sh sub DIR alice). Exit status 77 when glewlwyd (or sqlite3/openssl/curl/python3) is not installed.
#
# How glewlwyd is configured headless: its Debian schema (/usr/share/dbconfig-common/.../sqlite3) creates a
# SQLite database with the database user and client backends and an `admin`/`password` administrator; the test
# logs in as that administrator (loopback only, throw-away database) and, through the admin REST API, adds the
# OIDC plugin (RS256, key made with openssl, password grant on), a "chatter" scope, two users and a
# confidential client.
set -euo pipefail

SCHEMA=/usr/share/dbconfig-common/data/glewlwyd/install/sqlite3
AUDIENCE="chatter" # glewlwyd 2.7 sets aud to the granted scope list, so a token for scope "chatter" has aud "chatter"

need() {
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || { echo "oidc_provider: $c is not installed (apt-get install glewlwyd sqlite3 openssl curl)" >&2; exit 77; }
    done
}

json() { python3 -c "$1" "${@:2}"; }

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# admin API call: METHOD PATH [JSON-FILE]; fails loudly on a non-2xx answer
admin() {
    local method=$1 path=$2 body=${3:-} out code
    out=$(mktemp "$DIR/resp.XXXXXX")
    if [ -n "$body" ]; then
        code=$(curl -sS -o "$out" -w '%{http_code}' -b "$DIR/cookies" -X "$method" -H 'Content-Type: application/json' \
            --data-binary "@$body" "$GW_URL$path")
    else
        code=$(curl -sS -o "$out" -w '%{http_code}' -b "$DIR/cookies" -X "$method" "$GW_URL$path")
    fi
    if [ "${code:0:1}" != 2 ]; then
        echo "oidc_provider: $method $path -> HTTP $code: $(head -c 500 "$out")" >&2
        rm -f "$out"
        return 1
    fi
    rm -f "$out"
}

# plugin JSON with the key in DIR/key.pem
write_plugin() {
    json '
import json, sys
d, iss = sys.argv[1], sys.argv[2]
p = {"module": "oidc", "name": "oidc", "display_name": "chatter test OIDC", "enabled": True, "parameters": {
    "iss": iss, "jwt-type": "rsa", "jwt-key-size": "256",
    "key": open(d + "/key.pem").read(), "cert": open(d + "/key.pub").read(),
    "access-token-duration": 3600, "refresh-token-duration": 86400, "code-duration": 600,
    "refresh-token-rolling": False, "allow-non-oidc": True,
    "auth-type-code-enabled": True, "auth-type-token-enabled": False, "auth-type-id-token-enabled": True,
    "auth-type-none-enabled": False, "auth-type-password-enabled": True, "auth-type-client-enabled": True,
    "auth-type-refresh-enabled": True, "auth-type-device-enabled": False}}
json.dump(p, open(d + "/plugin.json", "w"))
' "$DIR" "$OIDC_ISSUER"
}

new_key() {
    openssl genrsa -out "$DIR/key.pem" 2048 2>/dev/null
    openssl rsa -in "$DIR/key.pem" -pubout -out "$DIR/key.pub" 2>/dev/null
}

wait_up() {
    for _ in $(seq 1 100); do
        curl -s -o /dev/null "$GW_URL/../config" 2>/dev/null && return 0
        kill -0 "$(cat "$DIR/pid")" 2>/dev/null || { echo "oidc_provider: glewlwyd exited:" >&2; tail -20 "$DIR/glewlwyd.log" >&2; return 1; }
        sleep 0.1
    done
    echo "oidc_provider: glewlwyd did not come up" >&2
    return 1
}

cmd_start() {
    need glewlwyd sqlite3 openssl curl python3
    [ -r "$SCHEMA" ] || { echo "oidc_provider: $SCHEMA missing (glewlwyd package incomplete)" >&2; exit 77; }
    mkdir -p "$DIR"
    rm -f "$DIR/glewlwyd.db"
    sqlite3 "$DIR/glewlwyd.db" < "$SCHEMA"
    local port
    port=$(free_port)
    GW_URL="http://127.0.0.1:$port/api"
    OIDC_ISSUER="$GW_URL/oidc"
    cat > "$DIR/glewlwyd.conf" <<EOF
port=$port
bind_address="127.0.0.1"
external_url="http://127.0.0.1:$port"
login_url="login.html"
api_prefix="api"
static_files_path="/usr/share/glewlwyd/webapp/"
allow_origin="*"
log_mode="console"
log_level="INFO"
cookie_secure=0
cookie_same_site="empty"
session_expiration=3600
session_key="GLEWLWYD2_SESSION_ID"
admin_session_authentication="cookie"
profile_session_authentication="cookie"
allow_multiple_user_per_session=true
login_api_enabled=true
add_x_frame_option_header_deny=true
max_post_size=1048576
admin_scope="g_admin"
profile_scope="g_profile"
user_module_path="/usr/lib/glewlwyd/user"
client_module_path="/usr/lib/glewlwyd/client"
user_auth_scheme_module_path="/usr/lib/glewlwyd/scheme"
plugin_module_path="/usr/lib/glewlwyd/plugin"
use_secure_connection=false
secure_connection_key_file="/nonexistent/cert.key"
secure_connection_pem_file="/nonexistent/cert.pem"
secure_connection_ca_file="/nonexistent/ca.crt"
hash_algorithm="SHA512"
database = { type = "sqlite3"; path = "$DIR/glewlwyd.db"; };
EOF
    # setsid: the provider gets its own process group, so stop can end it and nothing else
    setsid glewlwyd -c "$DIR/glewlwyd.conf" > "$DIR/glewlwyd.log" 2>&1 < /dev/null &
    echo $! > "$DIR/pid"
    wait_up

    curl -sS -f -o /dev/null -c "$DIR/cookies" -H 'Content-Type: application/json' \
        -d '{"username":"admin","password":"password"}' "$GW_URL/auth/"

    new_key
    write_plugin
    admin POST /mod/plugin/ "$DIR/plugin.json"

    local alice_pw bob_pw carol_pw secret
    alice_pw=$(openssl rand -hex 12)
    bob_pw=$(openssl rand -hex 12)
    carol_pw=$(openssl rand -hex 12)
    secret=$(openssl rand -hex 16)
    json '
import json, sys
d, alice_pw, bob_pw, carol_pw, secret = sys.argv[1:6]
def w(name, obj): json.dump(obj, open(d + "/" + name + ".json", "w"))
w("scope1", {"name": "chatter", "display_name": "chatter", "description": "chatter API", "password_required": False, "scheme": {}})
w("alice", {"username": "alice", "name": "Alice", "email": "alice@example.test", "password": alice_pw, "scope": ["chatter", "openid"], "enabled": True})
w("bob", {"username": "bob", "name": "Bob", "email": "bob@example.test", "password": bob_pw, "scope": ["chatter", "openid"], "enabled": True})
w("carol", {"username": "carol", "name": "Carol", "email": "carol@example.test", "password": carol_pw, "scope": ["chatter", "openid"], "enabled": True})
# token_endpoint_auth_method is required: without it glewlwyd 2.7 answers 500 to client authentication
w("client", {"client_id": "chatter-cli", "name": "chatter test client", "confidential": True, "client_secret": secret,
             "token_endpoint_auth_method": ["client_secret_basic", "client_secret_post"],
             "authorization_type": ["password", "refresh_token"], "redirect_uri": ["http://127.0.0.1/cb"],
             "scope": ["chatter"], "enabled": True})
' "$DIR" "$alice_pw" "$bob_pw" "$carol_pw" "$secret"
    admin POST /scope/ "$DIR/scope1.json"
    admin POST /user/ "$DIR/alice.json"
    admin POST /user/ "$DIR/bob.json"
    admin POST /user/ "$DIR/carol.json"
    admin POST /client/ "$DIR/client.json"
    printf '%s\n' "$alice_pw" > "$DIR/alice.pw"
    printf '%s\n' "$bob_pw" > "$DIR/bob.pw"
    printf '%s\n' "$carol_pw" > "$DIR/carol.pw"
    rm -f "$DIR"/scope?.json "$DIR/alice.json" "$DIR/bob.json" "$DIR/carol.json" "$DIR/client.json"

    cat > "$DIR/env" <<EOF
GW_URL='$GW_URL'
GW_CLIENT_ID='chatter-cli'
GW_CLIENT_SECRET='$secret'
OIDC_ISSUER='$OIDC_ISSUER'
OIDC_AUDIENCE='$AUDIENCE'
OIDC_ALLOW_INSECURE_HTTP=1
EOF
    # the discovery document must name exactly the issuer chatter is configured with
    curl -sS -f "$OIDC_ISSUER/.well-known/openid-configuration" | json '
import json, sys
d = json.load(sys.stdin)
assert d["issuer"] == sys.argv[1], ("issuer mismatch", d["issuer"], sys.argv[1])
' "$OIDC_ISSUER"
    echo "oidc_provider: glewlwyd up at $OIDC_ISSUER (pid $(cat "$DIR/pid"))" >&2
}

load_env() {
    [ -r "$DIR/env" ] || { echo "oidc_provider: $DIR/env missing: run start first" >&2; exit 1; }
    # shellcheck disable=SC1091
    . "$DIR/env"
}

cmd_token() {
    load_env
    local user=$1 scope=${2:-chatter}
    local pw
    pw=$(cat "$DIR/$user.pw")
    # glewlwyd's password grant ignores RFC 8707 resource indicators (it answers invalid_target on refresh), so
    # the audience is the scope: request exactly "chatter" to get aud "chatter"
    curl -sS -f -u "$GW_CLIENT_ID:$GW_CLIENT_SECRET" \
        --data-urlencode grant_type=password --data-urlencode "username=$user" --data-urlencode "password=$pw" \
        --data-urlencode "scope=$scope" "$OIDC_ISSUER/token" |
        json 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}

cmd_sub() {
    cmd_token "$1" | json '
import base64, json, sys
p = sys.stdin.read().strip().split(".")[1]
print(json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))["sub"])
'
}

cmd_rotate() {
    load_env
    curl -sS -f -o /dev/null -c "$DIR/cookies" -H 'Content-Type: application/json' \
        -d '{"username":"admin","password":"password"}' "$GW_URL/auth/"
    new_key
    write_plugin
    admin PUT /mod/plugin/oidc "$DIR/plugin.json"
    # glewlwyd loads keys when the plugin starts: reset it so the JWKS and new tokens use the new key
    admin PUT /mod/plugin/oidc/reset
}

cmd_stop() {
    [ -r "$DIR/pid" ] || return 0
    local pid
    pid=$(cat "$DIR/pid")
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$DIR/pid"
}

[ $# -ge 2 ] || { sed -n '2,10p' "$0" >&2; exit 2; }
action=$1
DIR=$(cd "$(dirname "$2")" 2>/dev/null && pwd)/$(basename "$2")
shift 2
case "$action" in
    start) cmd_start ;;
    token) cmd_token "$@" ;;
    sub) cmd_sub "$@" ;;
    rotate) cmd_rotate ;;
    stop) cmd_stop ;;
    *) echo "oidc_provider: unknown action $action" >&2; exit 2 ;;
esac
