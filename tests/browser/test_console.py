"""Each console page renders what the API returns, in Chromium, against the service with the demo data."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, WebSocketRoute, expect

from tests.browser.conftest import account_ready_ms, serious_violations
from tests.support import RECORD, event, timeline, unique

LIST = """query($filter: AccountFilterInput, $orderBy: AccountOrder!, $after: String) {
  accounts(first: 25, filter: $filter, orderBy: $orderBy, after: $after) {
    edges { node { id name } } pageInfo { hasNextPage endCursor } } }"""
ACCOUNT = """query($id: ID!, $asOf: DateTime) { account(id: $id, asOf: $asOf) {
  name health { score } lifecycle { stage } agentContext { donts { text } }
  open: findings(state: OPEN) { summary evidence { position } } resolved: findings(state: RESOLVED) { summary }
  timeline(first: 100) { edges { node { position } } pageInfo { hasNextPage } } } }"""


def api(url: str, query: str, **variables: Any) -> dict[str, Any]:
    body = httpx.post(url + "/graphql", json={"query": query, "variables": variables}, timeout=30).json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def names(url: str, **variables: Any) -> list[str]:
    page = api(url, LIST, **variables)["accounts"]
    return [edge["node"]["name"] or edge["node"]["id"] for edge in page["edges"]]


def row_names(page: Page) -> list[str]:
    return page.locator("table.accounts tbody tr td:first-child a").all_inner_texts()


def test_the_list_shows_the_api_s_accounts_filtered_sorted_and_paged(page: Page, demo_url: str) -> None:
    page.goto("/")
    expect(page.locator("table.accounts tbody tr")).to_have_count(25)
    assert row_names(page) == names(demo_url, orderBy="HEALTH_ASC")
    assert page.locator("table.accounts tbody svg.sparkline").count() == 25

    page.get_by_role("button", name="Open findings").click()
    expect(page.get_by_role("columnheader", name="Open findings")).to_have_attribute("aria-sort", "descending")
    assert row_names(page) == names(demo_url, orderBy="OPEN_FINDINGS_DESC")

    page.get_by_label("Lifecycle").select_option("AT_RISK")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"stage=AT_RISK"))
    expected = names(demo_url, orderBy="OPEN_FINDINGS_DESC", filter={"stage": "AT_RISK"})
    expect(page.locator("table.accounts tbody tr")).to_have_count(len(expected))
    assert row_names(page) == expected
    assert set(page.locator("table.accounts tbody .stage").all_inner_texts()) == {"at risk"}


def test_the_next_page_continues_from_the_api_s_cursor(page: Page, demo_url: str) -> None:
    first = api(demo_url, LIST, orderBy="NAME")["accounts"]
    page.goto("/?order=NAME")
    page.get_by_role("link", name="Next page").click()
    expect(page).to_have_url(re.compile(r"after="))
    expect(page.locator("table.accounts tbody tr").first).to_contain_text(
        names(demo_url, orderBy="NAME", after=first["pageInfo"]["endCursor"])[0])
    assert row_names(page) == names(demo_url, orderBy="NAME", after=first["pageInfo"]["endCursor"])


def most_findings(url: str) -> str:
    found = api(url, "{ accounts(first: 1, orderBy: OPEN_FINDINGS_DESC) { edges { node { id } } } }")
    account_id: str = found["accounts"]["edges"][0]["node"]["id"]
    return account_id


def test_an_account_page_shows_the_api_s_view(page: Page, demo_url: str) -> None:
    account_id = most_findings(demo_url)
    view = api(demo_url, ACCOUNT, id=account_id)["account"]
    page.goto(f"/accounts/{account_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(view["name"])
    health = page.locator(".fact", has_text="Health")
    expect(health.locator("dd")).to_contain_text(str(view["health"]["score"]))
    expect(page.locator(".fact", has_text="Lifecycle").locator("dd")).to_contain_text(
        view["lifecycle"]["stage"].lower().replace("_", " "))
    assert page.locator(".donts li strong").all_inner_texts() == [d["text"] for d in view["agentContext"]["donts"]]
    assert page.locator(".agent > *").nth(1).evaluate("e => e.className") == "donts"  # first thing under the title
    assert page.locator(".findings.open .finding strong").all_inner_texts() == [f["summary"] for f in view["open"]]
    assert page.locator(".findings.resolved .finding strong").all_inner_texts() == [f["summary"] for f in view["resolved"]]
    if not view["timeline"]["pageInfo"]["hasNextPage"]:
        assert page.locator("svg.lanes circle.event").count() == len(view["timeline"]["edges"])
    evidence = {e["position"] for f in view["open"] for e in f["evidence"]}
    marked = set(page.locator("svg.lanes circle.evidence").evaluate_all("cs => cs.map(c => c.dataset.position)"))
    assert evidence and evidence <= marked

    page.get_by_role("button", name="Mark its evidence on the timeline").first.click()
    selected = page.locator("svg.lanes circle.selected").evaluate_all("cs => cs.map(c => c.dataset.position)")
    assert set(selected) == {e["position"] for e in view["open"][0]["evidence"]}
    assert serious_violations(page) == []


def test_the_as_of_picker_shows_the_account_as_it_was(page: Page, demo_url: str) -> None:
    account_id = most_findings(demo_url)
    then = date.today() - timedelta(days=200)
    past = api(demo_url, ACCOUNT, id=account_id, asOf=f"{then.isoformat()}T23:59:59Z")["account"]
    now = api(demo_url, ACCOUNT, id=account_id)["account"]
    page.goto(f"/accounts/{account_id}")
    expect(page.locator(".findings.open h2")).to_have_text(f"Open findings ({len(now['open'])})")
    page.get_by_label("As of", exact=True).fill(then.isoformat())
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(rf"asOf={then.isoformat()}"))
    expect(page.locator(".fact", has_text="Viewed at")).to_contain_text(then.strftime("%-d %b %Y"))
    expect(page.locator(".findings.open h2")).to_have_text(f"Open findings ({len(past['open'])})")
    score = past["health"]["score"] if past["health"] else "–"
    expect(page.locator(".fact", has_text="Health").locator("dd")).to_contain_text(str(score))
    expect(page.get_by_role("status")).to_have_text("Live updates are off while showing a past day.")


def ago(minutes: int) -> str:
    return (datetime.now(timezone.utc) - timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_recorded_event_makes_a_finding_appear_live(page: Page, demo_url: str) -> None:
    account = unique("live")
    ticket = {"id": f"{account}-1", "source": "zendesk", "type": "support.ticket.opened", "accountId": account,
              "occurredAt": ago(10), "data": {"ticketId": "T-4411", "priority": "urgent"}}
    renewal = {"id": f"{account}-2", "source": "salesforce", "type": "sales.outreach.sent", "accountId": account,
               "occurredAt": ago(5), "data": {"channel": "email", "intent": "renewal"}}
    api(demo_url, RECORD, events=[ticket])
    page.goto(f"/accounts/{account}")
    expect(page.get_by_role("status")).to_have_text("Live: changes appear as they happen.")
    expect(page.locator(".findings.open h2")).to_have_text("Open findings (0)")
    api(demo_url, RECORD, events=[renewal])
    expect(page.locator(".findings.open .finding")).to_have_count(1)
    expect(page.locator(".findings.open .finding")).to_contain_text("T-4411")
    expect(page.locator("svg.lanes circle.event")).to_have_count(2)


def test_a_lost_connection_resumes_after_the_last_event_it_saw(page: Page, demo_url: str) -> None:
    """The page's WebSockets go through the test, which cuts them: the page reconnects and subscribes again with
    `after` the last position it saw, and what happens next still arrives."""
    subscribed: list[dict[str, Any]] = []
    connections: list[WebSocketRoute] = []

    def through_the_test(socket: WebSocketRoute) -> None:
        server = socket.connect_to_server()

        def from_page(message: str | bytes) -> None:
            frame = json.loads(message)
            if frame["type"] == "subscribe":
                subscribed.append(frame["payload"])
            server.send(message)

        socket.on_message(from_page)
        connections.append(socket)

    page.route_web_socket(re.compile(r"/graphql$"), through_the_test)
    account = unique("resume")
    ticket = {"id": f"{account}-1", "source": "zendesk", "type": "support.ticket.opened", "accountId": account,
              "occurredAt": ago(10), "data": {"ticketId": "T-7", "priority": "urgent"}}
    api(demo_url, RECORD, events=[ticket])
    with httpx.Client(base_url=demo_url, timeout=30) as client:
        first_seen = timeline(client, account)[-1]["position"]
        page.goto(f"/accounts/{account}")
        expect(page.get_by_role("status")).to_have_text("Live: changes appear as they happen.")
        api(demo_url, RECORD, events=[event("product.usage.recorded", account_id=account, occurred_at=ago(8))])
        expect(page.locator("svg.lanes circle.event")).to_have_count(2)
        seen = timeline(client, account)[-1]["position"]
    for socket in list(connections):
        socket.close(code=1011, reason="cut by the test")
    expect(page.get_by_role("status")).to_have_text("Live: changes appear as they happen.")
    events_after = [payload["variables"]["after"] for payload in subscribed if "events(" in payload["query"]]
    assert events_after[0] == first_seen and events_after[-1] == seen  # from the first read on, then resumed
    renewal = {"id": f"{account}-3", "source": "salesforce", "type": "sales.outreach.sent", "accountId": account,
               "occurredAt": ago(5), "data": {"channel": "email", "intent": "renewal"}}
    api(demo_url, RECORD, events=[renewal])
    expect(page.locator(".findings.open .finding")).to_have_count(1)


def test_an_unknown_account_gets_a_not_found_page(page: Page) -> None:
    page.goto("/accounts/no-such-account")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    expect(page.get_by_role("alert")).to_contain_text("no-such-account")


def test_an_api_error_shows_its_message(page: Page) -> None:
    page.goto("/?minHealth=500")
    expect(page.get_by_role("alert")).to_contain_text("minHealth")
    expect(page.get_by_role("heading", level=1)).to_have_text("Something went wrong")


def test_the_list_has_no_serious_accessibility_violation(page: Page) -> None:
    page.goto("/")
    expect(page.locator("table.accounts tbody tr")).to_have_count(25)
    assert serious_violations(page) == []


def test_on_a_phone_screen_nothing_runs_off_the_side(page: Page, demo_url: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    overflow = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    page.goto("/")
    expect(page.locator("table.accounts tbody tr")).to_have_count(25)
    assert page.evaluate(overflow) <= 0
    page.goto(f"/accounts/{most_findings(demo_url)}")
    expect(page.locator("svg.lanes")).to_be_visible()
    assert page.evaluate(overflow) <= 0  # the timeline scrolls inside its own box


def test_graphiql_works_with_no_request_leaving_the_machine(page: Page, demo_url: str) -> None:
    elsewhere: list[str] = []
    page.route(re.compile(r"^(?!" + re.escape(demo_url) + r")"), lambda route: (elsewhere.append(route.request.url), route.abort()))
    page.goto("/graphql")
    page.locator(".graphiql-execute-button").click()
    expect(page.locator(".result-window")).to_contain_text('"accounts"')
    assert elsewhere == []


MATRIX = """query($from: DateTime, $to: DateTime) {
  departmentMatrix(from: $from, to: $to) { departments findings openFindings accountsAffected } }"""


def cell_count(page: Page, row: int, column: int) -> str:
    return page.locator("table.matrix tbody tr").nth(row).locator("td").nth(column).inner_text()


def test_the_matrix_shows_the_api_s_counts_and_the_findings_behind_a_cell(page: Page, demo_url: str) -> None:
    departments = ["MARKETING", "SALES", "PRODUCT", "SUPPORT", "BILLING"]
    counts = api(demo_url, MATRIX)["departmentMatrix"]
    page.goto("/matrix")
    for count in counts:
        indices = sorted(departments.index(d) for d in count["departments"])  # a single department: the diagonal
        row, column = indices[0], indices[-1]
        assert cell_count(page, row, column) == str(count["findings"]), count
    busiest = counts[0]
    label = " and ".join(d.lower() for d in busiest["departments"])
    page.get_by_role("link", name=re.compile(rf"^{busiest['findings']} findings, {label}: ")).click()
    expect(page.locator("#cell-title")).to_have_text(f"{label}: {busiest['findings']} findings")
    expect(page.locator(".findings .finding")).to_have_count(busiest["findings"])

    then, until = date.today() - timedelta(days=120), date.today() - timedelta(days=30)
    page.get_by_label("From").fill(then.isoformat())
    page.get_by_label("to", exact=True).fill(until.isoformat())
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(rf"from={then.isoformat()}&to={until.isoformat()}"))
    period = api(demo_url, MATRIX, **{"from": f"{then.isoformat()}T00:00:00Z", "to": f"{until.isoformat()}T23:59:59Z"})
    expected = sum(count["findings"] for count in period["departmentMatrix"])
    expect(page.locator("table.matrix caption")).to_contain_text(then.strftime("%-d %b %Y"))
    shown = page.locator("table.matrix td.cell a").all_inner_texts()
    assert sum(int(text) for text in shown) == expected
    assert serious_violations(page) == []


def test_the_account_page_marks_the_moment_it_is_on_screen(page: Page, demo_url: str) -> None:
    """What bench/console_speed.py measures: the mark is set once the account is rendered, on the browser's clock."""
    page.add_init_script("""{
      const mark = performance.mark.bind(performance);
      performance.mark = (name, ...rest) => {
        window.onScreenAtMark = document.querySelectorAll("main svg.lanes, main .findings .finding").length;
        return mark(name, ...rest);
      };
    }""")
    ready = account_ready_ms(page, most_findings(demo_url))
    assert page.evaluate("performance.getEntriesByType('navigation')[0].responseEnd") < ready
    assert page.evaluate("window.onScreenAtMark") >= 2  # the timeline and at least one finding were there


@pytest.mark.parametrize("address, named", [
    ("/accounts/acme?asOf=yesterday", "asOf"),
    ("/accounts/acme?asOf=2026-02-30", "asOf"),
    ("/accounts/acme?asOf=2999-01-01", "asOf"),
    ("/?minHealth=lots", "minHealth"),
    ("/?order=BEST", "order"),
    ("/?findings=maybe", "findings"),
    ("/matrix?from=1%20May", "from"),
    ("/matrix?cell=SALES,LEGAL", "cell"),
])
def test_an_address_the_page_cannot_use_is_refused_by_name(page: Page, address: str, named: str) -> None:
    page.goto(address)
    expect(page.get_by_role("heading", level=1)).to_have_text("This address cannot be shown")
    expect(page.get_by_role("alert")).to_contain_text(f"{named}: ")
