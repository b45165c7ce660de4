"""/docs works without internet: Swagger UI's script, style and icon come from the installation
(the swagger-ui-bundle-v2 package), never from a CDN; ReDoc is off."""

from __future__ import annotations

import re


def test_docs_page_loads_nothing_from_the_internet(client):
    r = client.get("/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert not re.search(r"https?://", html), re.findall(r"https?://[^\s\"'<>]+", html)
    assert "'/api/openapi.json'" in html
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    scripts = [u for u in refs if u.endswith(".js")]
    styles = [u for u in refs if u.endswith(".css")]
    assert scripts and styles, refs
    for url in refs:
        assert url.startswith("/"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 500, url
    assert "SwaggerUIBundle" in client.get(scripts[0]).text
    assert ".swagger-ui" in client.get(styles[0]).text


def test_redoc_is_off_and_the_assets_stay_in_their_folder(app, client):
    # no ReDoc route; where the dashboard is built, its single-page app answers /redoc like any path
    assert "/redoc" not in [getattr(r, "path", None) for r in app.routes]
    assert "redoc" not in client.get("/redoc").text.lower()
    for escape in ("/docs/assets/../../pyproject.toml", "/docs/assets/%2e%2e/%2e%2e/pyproject.toml"):
        assert "swagger-ui-bundle" not in client.get(escape).text
    assert client.get("/docs/assets/no-such-file.js").status_code == 404


def test_the_bundled_swagger_ui_reads_openapi_3_1(app):
    """Swagger UI 4 (swagger-ui-bundle 1.x) shows "Unable to render this definition" for FastAPI's
    OpenAPI 3.1; 5 renders it (checked in Chromium, offline: every operation listed)."""
    from swagger_ui_bundle import swagger_ui_path

    assert app.openapi()["openapi"].startswith("3.1")
    assert int(swagger_ui_path.name.removeprefix("swagger-ui-").split(".")[0]) >= 5
