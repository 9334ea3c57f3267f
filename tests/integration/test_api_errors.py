"""Every bad-input rule of POST /api/jobs and the other routes: the right status, a JSON error naming the
field and the reason, and nothing half-created."""
import sys

from harness import Server, Workdir, check

GOOD = "https://www.youtube.com/watch?v=9bZkp7q19f0"


def err(resp, status, code, field=None):
    st, body, _ = resp
    check(st == status, f"expected {status} {code}, got {st}: {body}")
    check(isinstance(body, dict) and "error" in body, f"error body is not JSON: {body!r}")
    e = body["error"]
    check(e["code"] == code, f"expected code {code}, got {e}")
    check(isinstance(e.get("message"), str) and e["message"], f"no message: {e}")
    if field is not None:
        check(e.get("field") == field, f"expected field {field}, got {e}")
    return e


def main():
    with Workdir() as wd:
        srv = Server(wd, {"YOUTUBE_API_KEY": "k", "CHATTER_YOUTUBE_API_URL": "http://127.0.0.1:9/youtube/v3"},
                     args=["--workers", "0"]).start()
        try:
            c = srv.call
            err(c("POST", "/api/jobs", raw=b"{not json"), 400, "invalid_json", "body")
            err(c("POST", "/api/jobs", raw=b"[1,2]"), 400, "invalid_json", "body")
            err(c("POST", "/api/jobs", raw=b'{"urls": ["a"], "urls": ["b"]}'), 400, "invalid_json", "body")
            err(c("POST", "/api/jobs", {}), 400, "missing_field", "urls")
            err(c("POST", "/api/jobs", {"urls": "https://youtu.be/9bZkp7q19f0"}), 400, "invalid_field", "urls")
            err(c("POST", "/api/jobs", {"urls": []}), 400, "invalid_field", "urls")
            err(c("POST", "/api/jobs", {"urls": [GOOD] * 501}), 413, "too_many_urls", "urls")
            err(c("POST", "/api/jobs", raw=b'{"urls": ["' + b"x" * (1 << 20) + b'"]}'), 413, "payload_too_large",
                "body")
            err(c("POST", "/api/jobs", raw=b'{"urls": []}', headers={"Content-Type": "text/plain"}), 415,
                "unsupported_media_type", "Content-Type")
            err(c("POST", "/api/jobs", {"urls": [GOOD], "max_comments_per_post": "10"}), 400, "invalid_field",
                "max_comments_per_post")
            err(c("POST", "/api/jobs", {"urls": [GOOD], "max_comments_per_post": -1}), 422, "out_of_range",
                "max_comments_per_post")
            err(c("POST", "/api/jobs", {"urls": [GOOD], "include_replies": "yes"}), 400, "invalid_field",
                "include_replies")
            err(c("POST", "/api/jobs", {"urls": [GOOD], "colour": "red"}), 400, "unknown_field", "colour")

            # every rejected link is listed with its index and reason; nothing is created
            bad = [GOOD, "https://www.youtube.com/playlist?list=PL123", 42, "ftp://youtu.be/9bZkp7q19f0",
                   "https://example.com/watch?v=9bZkp7q19f0", "https://youtu.be/short"]
            e = err(c("POST", "/api/jobs", {"urls": bad}), 400, "invalid_urls", "urls")
            idx = sorted(d["index"] for d in e["details"])
            check(idx == [1, 2, 3, 4, 5], f"rejected indices {idx}")
            check(all(d["reason"] for d in e["details"]), f"reasons missing: {e['details']}")
            st, body, _ = c("GET", "/api/jobs")
            check(st == 200 and body["jobs"] == [], f"a failed create left a job behind: {body}")

            # a platform without credentials is refused at creation, not later
            e = err(c("POST", "/api/jobs", {"urls": ["https://www.instagram.com/p/BQ0eAlwhDrw/"]}), 400,
                    "invalid_urls", "urls")
            check(e["details"][0]["index"] == 0, e)

            # routes
            err(c("GET", "/api/jobs/999"), 404, "not_found")
            err(c("GET", "/api/jobs/abc"), 404, "not_found")
            err(c("GET", "/api/jobs/999/results.csv"), 404, "not_found")
            err(c("DELETE", "/api/jobs/999"), 404, "not_found")
            err(c("GET", "/nope"), 404, "not_found")
            err(c("PUT", "/api/jobs"), 405, "method_not_allowed")
            st, _, hdrs = c("PATCH", "/api/jobs/1")
            check(st == 405 and "DELETE" in hdrs.get("Allow", ""), f"405 without Allow: {st} {hdrs}")
            err(c("GET", "/api/jobs?limit=0"), 400, "invalid_parameter", "limit")
            err(c("GET", "/api/jobs?before=x"), 400, "invalid_parameter", "before")

            # duplicates merge, and a good job is created whole
            st, job, hdrs = c("POST", "/api/jobs", {"urls": [GOOD, "https://youtu.be/9bZkp7q19f0?t=5",
                                                             "https://m.youtube.com/watch?v=CevxZvSJLk8"]})
            check(st == 201, f"create failed: {st} {job}")
            check(job["counts"]["posts_total"] == 2 and job["duplicates_merged"] == 1, job)
            check(job["posts"][0]["url"] == GOOD, job["posts"])
            st, job2, _ = c("POST", "/api/jobs/create", {"urls": [GOOD]})  # reference design's path
            check(st == 201, (st, job2))
            st, got, _ = c("GET", f"/api/jobs/{job['id']}/status")
            check(st == 200 and got["id"] == job["id"], got)
            err(c("GET", f"/api/jobs/{job['id']}/results.csv?bom=2"), 400, "invalid_parameter", "bom")
            st, lst, _ = c("GET", "/api/jobs?limit=1")
            check(st == 200 and [j["id"] for j in lst["jobs"]] == [job2["id"]] and lst["next_before"] == job2["id"],
                  lst)
            st, lst, _ = c("GET", f"/api/jobs?limit=1&before={job2['id']}")
            check([j["id"] for j in lst["jobs"]] == [job["id"]], lst)
            st, _, _ = c("DELETE", f"/api/jobs/{job['id']}")
            check(st == 204, st)
            err(c("GET", f"/api/jobs/{job['id']}"), 404, "not_found")
            st, body, _ = c("GET", "/readyz")
            check(st == 200 and body["checks"]["database"] == "ok", body)
            st, page, _ = c("GET", "/")
            check(st == 200 and "<textarea" in page, "web page missing")
        finally:
            srv.stop()
    print("api errors: 1 passed, 0 failed")


if __name__ == "__main__":
    sys.exit(main())
