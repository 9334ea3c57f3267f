"""`chatter serve` with OIDC_ISSUER pointing at a real provider (glewlwyd, started here by tests/oidc_provider.sh)
and the fake YouTube API: bearer tokens for two users, their isolation (404 for another user's job on status,
CSV, delete and listing), an admin who sees every job, the 401 matrix with WWW-Authenticate, the per-user
job-creation rate limit (429 + Retry-After) and a provider key rotation followed without restart.
Exits 77 (skip) when glewlwyd is not installed."""
import base64
import json
import os
import shutil
import subprocess
import sys
import time

from harness import SRC, Server, Workdir, check, request, start_fake

PROVIDER = os.path.join(SRC, "tests", "oidc_provider.sh")
VIDEO = "https://www.youtube.com/watch?v=9bZkp7q19f0"


def provider(*args):
    return subprocess.run(["bash", PROVIDER, *args], check=True, stdout=subprocess.PIPE).stdout.decode().strip()


def claims(token):
    p = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))


def bearer(token):
    return {"Authorization": "Bearer " + token}


def expect_401(srv, headers, what, desc=None):
    st, body, hdrs = srv.call("GET", "/api/jobs", headers=headers)
    check(st == 401, f"{what}: expected 401, got {st} {body}")
    www = hdrs.get("WWW-Authenticate", "")
    check(www.startswith("Bearer"), f"{what}: WWW-Authenticate {www!r}")
    if desc:
        check('error="invalid_token"' in www and desc in www, f"{what}: WWW-Authenticate {www!r} lacks {desc!r}")
    check(isinstance(body, dict) and body.get("error", {}).get("code") == "unauthorized", f"{what}: body {body}")
    token = (headers or {}).get("Authorization", "")[7:]
    if len(token) > 20:  # the token never comes back, in the body or the challenge
        sig = token.rsplit(".", 1)[-1]
        check(sig not in json.dumps(body) and sig not in www, f"{what}: token echoed")
    print(f"ok: {what} -> 401 {www[:90]}")


def main():
    if not shutil.which("glewlwyd"):
        print("SKIP: glewlwyd is not installed (apt-get install glewlwyd)")
        return 77
    with Workdir() as wd:
        gw = os.path.join(wd, "gw")
        fake = srv = None
        try:
            provider("start", gw)
            env = {}
            with open(os.path.join(gw, "env")) as f:
                for line in f:
                    k, _, v = line.strip().partition("=")
                    env[k] = v.strip("'")
            carol_sub = provider("sub", gw, "carol")
            fake, fport = start_fake("fake_youtube.py", "--key", "test-key", "--page-size", "50")
            srv = Server(wd, {"YOUTUBE_API_KEY": "test-key",
                              "CHATTER_YOUTUBE_API_URL": f"http://127.0.0.1:{fport}/youtube/v3",
                              "OIDC_ISSUER": env["OIDC_ISSUER"], "OIDC_AUDIENCE": env["OIDC_AUDIENCE"],
                              "OIDC_ALLOW_INSECURE_HTTP": "1", "OIDC_REQUIRE_AT_JWT": "1",
                              "OIDC_JWKS_MIN_REFRESH_S": "1",
                              "OIDC_ADMIN_CLAIM": "sub", "OIDC_ADMIN_VALUE": carol_sub,
                              "CHATTER_JOBS_PER_MINUTE": "1", "CHATTER_JOBS_BURST": "3"},
                         args=["--workers", "2"]).start()
            alice, bob, carol = (provider("token", gw, u) for u in ("alice", "bob", "carol"))

            # --- 401 matrix over HTTP
            expect_401(srv, None, "no Authorization header")
            expect_401(srv, {"Authorization": "Basic YWxpY2U6cHc="}, "Basic scheme")
            h, _, s = alice.split(".")
            forged = h + "." + bob.split(".")[1] + "." + s
            expect_401(srv, bearer(forged), "alice's signature over bob's claims", "bad signature")
            expect_401(srv, bearer(provider("token", gw, "alice", "openid")), "token for another audience",
                       "audience")
            none_hdr = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
            expect_401(srv, bearer(none_hdr + "." + alice.split(".")[1] + ".c2ln"), "alg none", "alg none")
            expect_401(srv, bearer("not-a-jwt"), "malformed token", "malformed token")
            st, _, _ = srv.call("GET", "/api/jobs", headers={"Authorization": "Bearer " + "A" * 100_000})
            check(st in (401, 413, 431) or st >= 400, f"100 KB header: {st}")
            print(f"ok: 100 KB Authorization header -> {st}")

            # --- alice's job, and bob cannot see it
            st, job, _ = srv.call("POST", "/api/jobs", {"urls": [VIDEO]}, headers=bearer(alice))
            check(st == 201, f"alice create: {st} {job}")
            jid = job["id"]
            deadline = time.time() + 120
            while time.time() < deadline:
                st, job, _ = srv.call("GET", f"/api/jobs/{jid}", headers=bearer(alice))
                check(st == 200, f"alice status: {st} {job}")
                if job["status"] in ("done", "partial", "failed"):
                    break
                time.sleep(0.2)
            check(job["status"] == "done", f"alice's job: {job}")
            st, csv_text, _ = srv.call("GET", f"/api/jobs/{jid}/results.csv", headers=bearer(alice))
            check(st == 200 and csv_text.count("\n") > 10, f"alice CSV: {st}")
            print(f"ok: alice created job {jid} and downloaded {csv_text.count(chr(10)) - 1} rows")

            for method, path in (("GET", f"/api/jobs/{jid}"), ("GET", f"/api/jobs/{jid}/results.csv"),
                                 ("DELETE", f"/api/jobs/{jid}")):
                st, body, _ = srv.call(method, path, headers=bearer(bob))
                check(st == 404, f"bob {method} {path}: expected 404, got {st} {body}")
            st, lst, _ = srv.call("GET", "/api/jobs", headers=bearer(bob))
            check(st == 200 and all(j["id"] != jid for j in lst["jobs"]), f"bob's list shows alice's job: {lst}")
            print("ok: bob gets 404 for alice's job (status, CSV, delete) and does not list it")

            st, lst, _ = srv.call("GET", "/api/jobs", headers=bearer(alice))
            check(st == 200 and any(j["id"] == jid for j in lst["jobs"]), f"alice's list: {lst}")
            st, _, _ = srv.call("GET", f"/api/jobs/{jid}", headers=bearer(carol))
            check(st == 200, f"admin carol cannot read alice's job: {st}")
            st, lst, _ = srv.call("GET", "/api/jobs", headers=bearer(carol))
            check(st == 200 and any(j["id"] == jid for j in lst["jobs"]), f"admin list: {lst}")
            print("ok: admin carol sees alice's job")

            # --- rate limit: burst 3 for bob, then 429 with Retry-After
            codes = []
            for _ in range(4):
                st, body, hdrs = srv.call("POST", "/api/jobs", {"urls": [VIDEO]}, headers=bearer(bob))
                codes.append(st)
            check(codes[:3] == [201, 201, 201] and codes[3] == 429, f"bob's creations: {codes}")
            ra = hdrs.get("Retry-After", "")
            check(ra.isdigit() and 1 <= int(ra) <= 60, f"Retry-After {ra!r}")
            st, _, _ = srv.call("POST", "/api/jobs", {"urls": [VIDEO]}, headers=bearer(carol))
            check(st == 201, f"carol is limited by bob's bucket: {st}")
            print(f"ok: bob's 4th job -> 429 Retry-After {ra}; carol unaffected")

            # --- the provider rotates its key; the running server follows
            provider("rotate", gw)
            time.sleep(1.2)
            rotated = provider("token", gw, "alice")
            check(json.loads(base64.urlsafe_b64decode(rotated.split(".")[0] + "=="))["kid"] !=
                  json.loads(base64.urlsafe_b64decode(alice.split(".")[0] + "=="))["kid"], "kid did not change")
            st, job, _ = srv.call("GET", f"/api/jobs/{jid}", headers=bearer(rotated))
            check(st == 200, f"token from the rotated key: {st} {job}")
            check(claims(rotated)["sub"] == claims(alice)["sub"], "sub changed across rotation")
            expect_401(srv, bearer(alice), "token signed with the retired key", "unknown signing key")
            print("ok: key rotation followed without restart")

            log = srv.read_log()
            for t in (alice, bob, carol, rotated):
                check(t.rsplit(".", 1)[-1] not in log, "a token signature appears in the server log")
            print("PASS: chatter serve with OIDC against glewlwyd")
            return 0
        finally:
            if srv:
                srv.stop()
            if fake:
                fake.kill()
            subprocess.run(["bash", PROVIDER, "stop", gw], check=False)


if __name__ == "__main__":
    sys.exit(main())
