"""The web console at `/`: static HTML, CSS and JavaScript shipped inside the package (no build
step, no CDN), served as fixed files. It calls the same public API as any client, with the API key
the user gives it, so serving the files themselves needs no key (auth.py lets these paths through).
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI, HTTPException
from fastapi.responses import Response

PREFIX = "/console"
TYPES = {".html": "text/html", ".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}
# Everything the page loads comes from this server; thumbnails and dropped images are blob:/data:.
POLICY = (
    "default-src 'self'; img-src 'self' blob: data:; connect-src 'self' blob:; style-src 'self'; "
    "script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def is_console_path(path: str) -> bool:
    return path == "/" or path.startswith(PREFIX + "/")


def _assets() -> dict[str, tuple[bytes, str]]:
    """Name → (bytes, media type), read once: the set is fixed, so no request names a path."""
    folder = files("omniembed") / "console"
    found = {}
    for entry in folder.iterdir():
        kind = TYPES.get("." + entry.name.rsplit(".", 1)[-1])
        if entry.is_file() and kind is not None:
            found[entry.name] = (entry.read_bytes(), f"{kind}; charset=utf-8" if "svg" not in kind else kind)
    return found


def install_console(app: FastAPI) -> None:
    assets = _assets()
    headers = {
        "Content-Security-Policy": POLICY,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",  # revalidated: an upgraded server never runs a stale script
    }

    def serve(name: str) -> Response:
        if name not in assets:
            raise HTTPException(status_code=404, detail="Not Found")
        body, media_type = assets[name]
        return Response(body, media_type=media_type, headers=headers)

    @app.get("/", include_in_schema=False)
    async def console_page() -> Response:
        return serve("index.html")

    @app.get(PREFIX + "/{name}", include_in_schema=False)
    async def console_asset(name: str) -> Response:
        return serve(name)
