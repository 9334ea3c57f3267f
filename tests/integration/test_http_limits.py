"""Abuse limits of the HTTP server: a slowloris client (many connections trickling headers) cannot starve
other clients, idle connections are closed, oversize headers and URLs are refused, and job creation is
rate limited per user with 429 + Retry-After."""
import socket
import sys
import threading
import time

from harness import Server, Workdir, check

ATTACKER = "127.0.0.2"  # another loopback address: the per-IP cap applies to it, not to the real client


def slow_client(port, stop, opened):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(ATTACKER, 0))
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        opened.append(s)
        while not stop.is_set():
            s.sendall(b"X-a: b\r\n")  # one header line a second keeps the request from ever completing
            stop.wait(1.0)
    except OSError:
        pass


def main():
    with Workdir() as wd:
        srv = Server(wd, {"YOUTUBE_API_KEY": "k", "CHATTER_YOUTUBE_API_URL": "http://127.0.0.1:9/youtube/v3",
                          "CHATTER_HTTP_TIMEOUT_S": "3", "CHATTER_HTTP_PER_IP_CONNECTIONS": "20",
                          "CHATTER_JOBS_PER_MINUTE": "2", "CHATTER_JOBS_BURST": "2"},
                     args=["--workers", "0"]).start()
        try:
            # 1. slowloris from one address: at most the per-IP cap is held, others are served promptly
            stop, opened = threading.Event(), []
            attackers = [threading.Thread(target=slow_client, args=(srv.port, stop, opened)) for _ in range(60)]
            for t in attackers:
                t.start()
            time.sleep(1.5)
            worst = 0.0
            for _ in range(20):
                t0 = time.time()
                st, body, _ = srv.call("GET", "/healthz")
                worst = max(worst, time.time() - t0)
                check(st == 200, f"healthz during slowloris: {st}")
            check(worst < 1.0, f"a normal request took {worst:.2f} s during the slowloris")
            alive = 0
            for s in opened:
                try:
                    s.settimeout(0.2)
                    s.sendall(b"X-b: c\r\n")
                    alive += 1
                except OSError:
                    pass
            check(alive <= 20, f"{alive} slow connections held open; the per-IP cap is 20")
            stop.set()
            for t in attackers:
                t.join()
            for s in opened:
                s.close()

            # 2. an idle connection is closed after the timeout
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            t0 = time.time()
            data = s.recv(1024)
            waited = time.time() - t0
            s.close()
            check(data == b"" and 2 <= waited < 8, f"idle connection: got {data!r} after {waited:.1f} s")

            # 3. a 100 KB header and a 10 KB URL are refused without harm
            st, _, _ = srv.call("GET", "/healthz", headers={"X-Big": "a" * 100_000})
            check(st in (413, 414, 431), f"100 KB header answered {st}")
            st, _, _ = srv.call("GET", "/api/jobs/" + "1" * 10_000)
            check(st in (404, 414, 431), f"10 KB URL answered {st}")
            check(srv.call("GET", "/healthz")[0] == 200, "server unhealthy after oversize requests")

            # 4. job creation is rate limited per user: 429 with Retry-After
            body = {"urls": ["https://youtu.be/9bZkp7q19f0"]}
            codes = [srv.call("POST", "/api/jobs", body) for _ in range(3)]
            check([c[0] for c in codes] == [201, 201, 429], f"statuses {[c[0] for c in codes]}")
            ra = codes[2][2].get("Retry-After")
            check(ra is not None and int(ra) >= 1, f"Retry-After {ra!r}")
            check(codes[2][1]["error"]["code"] == "rate_limited", codes[2][1])
        finally:
            srv.stop()
    print("http limits: 1 passed, 0 failed")


if __name__ == "__main__":
    sys.exit(main())
