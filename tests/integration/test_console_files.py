"""The web console's files: one page at / and /accounts/<id>, its modules under /console/, open without a key."""

from __future__ import annotations

import re

import httpx

from service.console.routes import STATIC
from tests.integration.test_keys import QUERY, keyed  # noqa: F401 (a fixture: a server whose keys are required)

IMPORTED = re.compile(r'^import .* from "\./([\w.-]+)";$', re.MULTILINE)


def test_the_list_an_account_the_matrix_and_the_revenue_pages_are_the_same_page(client: httpx.Client) -> None:
    home, account, matrix = client.get("/"), client.get("/accounts/acme%20corp"), client.get("/matrix")
    attribution, impact = client.get("/attribution?from=2026-01-01&to=2026-02-01"), client.get("/impact")
    assert {page.status_code for page in (home, account, matrix, attribution, impact)} == {200}
    assert home.headers["content-type"].startswith("text/html")
    assert home.text == account.text == matrix.text == attribution.text == impact.text == (STATIC / "index.html").read_text()
    assert home.headers["cache-control"] == "no-cache"
    assert '<script type="module" src="/console/app.js">' in home.text


def test_every_module_the_page_imports_is_served(client: httpx.Client) -> None:
    """From app.js, follow each `import ... from "./x.js"`: a missing or misnamed module fails here, not in a browser."""
    seen, waiting = set(), ["app.js"]
    while waiting:
        name = waiting.pop()
        seen.add(name)
        served = client.get(f"/console/{name}")
        assert served.status_code == 200, name
        assert served.headers["content-type"].startswith("text/javascript"), name
        waiting += [module for module in IMPORTED.findall(served.text) if module not in seen]
    assert {"graphql.js", "accounts.js", "account.js", "matrix.js", "timeline.js", "charts.js", "dom.js",
            "attribution.js", "impact.js", "credits.js", "money.js", "range.js"} <= seen
    assert client.get("/console/style.css").headers["content-type"].startswith("text/css")


def test_what_the_console_does_not_have_is_not_found(client: httpx.Client) -> None:
    assert client.get("/console/missing.js").status_code == 404
    assert client.get("/console/%2e%2e/routes.py").status_code == 404  # nothing outside static/
    assert client.get("/elsewhere").status_code == 404
    assert client.post("/", json={}).status_code == 405


def test_the_page_needs_no_key_but_its_data_does(keyed: str) -> None:  # noqa: F811
    assert httpx.get(keyed + "/").status_code == 200
    assert httpx.get(keyed + "/accounts/acme").status_code == 200
    assert httpx.get(keyed + "/attribution").status_code == httpx.get(keyed + "/impact").status_code == 200
    assert httpx.get(keyed + "/console/graphql.js").status_code == 200
    refused = httpx.post(keyed + "/graphql", json={"query": QUERY})
    assert refused.status_code == 401 and refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_graphiql_comes_from_the_package_with_nothing_from_elsewhere(client: httpx.Client) -> None:
    ide = client.get("/graphql", headers={"accept": "text/html"})
    assert ide.status_code == 200 and ide.headers["content-type"].startswith("text/html")
    assets = re.findall(r'(?:src|href)="([^"]+)"', ide.text)
    assert len(assets) >= 6 and all(asset.startswith("/console/graphiql/") or asset.startswith("data:") for asset in assets)
    for asset in assets:
        if not asset.startswith("data:"):
            assert client.get(asset).status_code == 200, asset
