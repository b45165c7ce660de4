"""/docs works without internet: Swagger UI's script, style and icon come from the installation
(the swagger-ui-bundle package), never from a CDN; ReDoc is off."""

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


def test_redoc_is_off_and_the_assets_stay_in_their_folder(client):
    assert client.get("/redoc").status_code == 404
    assert client.get("/docs/assets/../../pyproject.toml").status_code == 404
    assert client.get("/docs/assets/no-such-file.js").status_code == 404
