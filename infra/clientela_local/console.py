"""Serves the admin console (`console/`) at `/admin/`, as CloudFront serves it from S3 on AWS.

Files are sent compressed (gzip) when the browser accepts it, as CloudFront's automatic
compression does, so what a page load transfers locally is what it transfers on AWS. The
security headers are those of the edge's response headers policy (`infra/edge.yaml`).
"""

from __future__ import annotations

import argparse
import gzip
import mimetypes
from functools import lru_cache
from pathlib import Path

from clientela import auth
from clientela_local.gateway_responses import Answer, problem_answer

PREFIX = "/admin"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
# The console runs its own scripts only and talks to its own origin only; images and S3
# uploads/downloads may be on another (presigned S3 links: moto's port locally, the bucket's
# domain on AWS). Inline styles are allowed: a template's preview (a sandboxed srcdoc frame,
# which inherits this policy) is e-mail HTML, styled by style attributes; no script runs there.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline';"
    " img-src 'self' data: http: https:;"
    " connect-src 'self' http://127.0.0.1:* http://localhost:* https:; frame-ancestors 'none';"
    " base-uri 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


# A working day: long enough not to interrupt an owner, short enough that a link left in a
# terminal's scroll-back is soon worth nothing.
CONSOLE_TOKEN_TTL_SECONDS = 8 * 3600


def console_link(
    base_url: str, store: str = "demo-store", ttl_seconds: int = CONSOLE_TOKEN_TTL_SECONDS
) -> str:
    """A link that signs the store's owner in: the token rides in the fragment, which browsers
    never send to a server (so no access log or proxy sees it); the console moves it into the
    tab's session storage and clears it from the address bar."""
    token = auth.issue_token(
        store, auth.ALL_SCOPES, auth.LOCAL_DEVELOPMENT_KEY, ttl_seconds, subject="owner@" + store
    )
    return f"{base_url}{PREFIX}/#token={token}"


class ConsoleFiles:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def handles(self, path: str) -> bool:
        return path == PREFIX or path.startswith(PREFIX + "/")

    def answer(self, path: str, accept_encoding: str) -> Answer:
        if path == PREFIX:  # relative links need the trailing slash
            return Answer(301, {"Location": PREFIX + "/"}, b"")
        relative = path[len(PREFIX) + 1 :] or "index.html"
        target = (self.root / relative).resolve()
        if self.root not in target.parents or not target.is_file():
            return problem_answer(404, "not-found", "Not Found", "No such file in the console.")
        body, compressed = _read(target, "gzip" in accept_encoding.lower())
        headers: dict[str, str | list[str]] = {
            "Content-Type": TYPES.get(target.suffix)
            or mimetypes.guess_type(target.name)[0]
            or "application/octet-stream",
            "Cache-Control": "no-cache",
            "Vary": "Accept-Encoding",
            **SECURITY_HEADERS,
        }
        if compressed:
            headers["Content-Encoding"] = "gzip"
        return Answer(200, headers, body)


@lru_cache(maxsize=256)
def _compressed(target: Path, mtime: float) -> bytes:  # noqa: ARG001 (part of the cache key)
    return gzip.compress(target.read_bytes(), compresslevel=6, mtime=0)


def _read(target: Path, gzip_ok: bool) -> tuple[bytes, bool]:
    if gzip_ok and target.suffix in {".html", ".js", ".css", ".json", ".svg"}:
        return _compressed(target, target.stat().st_mtime), True
    return target.read_bytes(), False


def main() -> None:
    """`make console-link`: prints a fresh sign-in link for the demo store's console."""
    parser = argparse.ArgumentParser(prog="python -m clientela_local.console")
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--store", default="demo-store")
    args = parser.parse_args()
    print(console_link(args.base_url.rstrip("/"), args.store))


if __name__ == "__main__":
    main()
