#!/usr/bin/env python3
"""A file server on 127.0.0.1 for model-download tests: serves DIR, honours "Range: bytes=N-" with 206
unless --ignore-range, answers 404 for missing files, and appends each request's path and Range header to
DIR/requests.log. Prints the chosen port on the first line of stdout. Stdlib only."""
import http.server
import os
import sys


def main():
    root = sys.argv[1]
    ignore_range = "--ignore-range" in sys.argv[2:]

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            rng = self.headers.get("Range", "")
            with open(os.path.join(root, "requests.log"), "a") as log:
                log.write(f"{self.path} {rng or '-'}\n")
            path = os.path.join(root, os.path.basename(self.path))
            if not os.path.isfile(path):
                self.send_error(404)
                return
            data = open(path, "rb").read()
            start = 0
            if rng.startswith("bytes=") and rng.endswith("-") and not ignore_range:
                start = int(rng[6:-1])
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            self.send_header("Content-Length", str(len(data) - start))
            self.end_headers()
            self.wfile.write(data[start:])

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
