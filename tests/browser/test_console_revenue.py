"""The attribution and CX impact pages and the account's attribution card, in Chromium, against the demo: what each
shows equals the API's answer for the same arguments, to the digit it shows."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, Route, expect

from tests.browser.conftest import serious_violations
from tests.browser.test_console import api, most_findings
from tests.support import RECORD, unique

MODELS = ["DATA_DRIVEN", "FIRST_TOUCH", "LAST_TOUCH", "LINEAR", "TIME_DECAY", "POSITION_BASED"]
TOTALS = """query($model: AttributionModel!, $from: DateTime!, $to: DateTime!, $groupBy: AttributionGroup!) {
  attribution(model: $model, from: $from, to: $to, groupBy: $groupBy) {
    currency group unattributed amount conversions touches } }"""
IMPACT = """query($from: DateTime!, $to: DateTime!) {
  cxImpact(from: $from, to: $to) { scope comparisons {
    metric currency withValue withoutValue difference low high withAccounts withoutAccounts tooSmall reading } }
  contradictionsCost(from: $from, to: $to) {
    byRule { rule convertedWhileOpen { amounts { amount currency } } lostAfterHigh { amounts { amount currency } } }
    byDepartmentPair { departments convertedWhileOpen { amounts { amount currency } } } } }"""
CONVERSIONS = """query($id: ID!, $asOf: DateTime, $model: AttributionModel!) { account(id: $id, asOf: $asOf) {
  attribution(model: $model) { eventId amount currency credits { eventId amount } } } }"""
PHONE = {"width": 390, "height": 844}
OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


def month_start(back: int) -> date:
    today = datetime.now(timezone.utc).date()
    months = today.year * 12 + today.month - 1 - back
    return date(months // 12, months % 12 + 1, 1)


LAST_MONTH = (month_start(1).isoformat(), month_start(0).isoformat())
LAST_YEAR = (month_start(12).isoformat(), month_start(0).isoformat())


def instant(day: str) -> str:
    return f"{day}T00:00:00Z"


def grouped(amount: str | Decimal) -> str:
    return format(Decimal(amount), ",")


def fixed(value: float, places: int) -> str:
    """What JavaScript's `value.toFixed(places)` writes: the exact binary value, a tie rounded away from zero."""
    return str(Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def percent(share: float) -> str:
    return f"{fixed(share * 100, 1)}%"


def signed(text: str) -> str:
    return f"−{text[1:]}" if text.startswith("-") else f"+{text}"


@pytest.fixture(scope="module")
def unattributed(demo_url: str) -> dict[str, Any]:
    """A conversion no touch preceded, in the last 12 months and a currency of its own: an unattributed row."""
    account = unique("unattributed")
    won = {"id": f"{account}-won", "source": "test", "type": "sales.opportunity.won", "accountId": account,
           "occurredAt": instant((month_start(2) + timedelta(days=3)).isoformat()),
           "data": {"opportunityId": f"O-{account}", "amount": "1234.50", "currency": "CHF"}}
    api(demo_url, RECORD, events=[won])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        rows = api(demo_url, TOTALS, model="LINEAR", groupBy="DEPARTMENT", **{"from": instant(LAST_YEAR[0]),
                                                                          "to": instant(LAST_YEAR[1])})["attribution"]
        if any(row["unattributed"] and row["currency"] == "CHF" for row in rows):
            return won
        time.sleep(0.3)
    raise AssertionError("the unattributed conversion was not projected")


def totals(url: str, model: str, group_by: str, span: tuple[str, str]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = api(url, TOTALS, model=model, groupBy=group_by,
                                     **{"from": instant(span[0]), "to": instant(span[1])})["attribution"]
    return rows


NO_GROUP = {"DEPARTMENT": "no department", "CHANNEL": "no channel", "CAMPAIGN": "no campaign", "ACTOR": "no actor named"}


def expected_sections(rows: list[dict[str, Any]], group_by: str) -> dict[str, tuple[str, list[list[str]]]]:
    """Per currency: its heading and its table's rows as the page should write them (the unattributed row last)."""
    sections = {}
    for currency in dict.fromkeys(row["currency"] for row in rows):
        mine = [row for row in rows if row["currency"] == currency]
        mine = [row for row in mine if not row["unattributed"]] + [row for row in mine if row["unattributed"]]
        total = sum((Decimal(row["amount"]) for row in mine), Decimal(0))
        sections[currency] = (f"{currency}: {grouped(total)}", [[
            "unattributed (no touch before it)" if row["unattributed"] else row["group"] or NO_GROUP[group_by],
            grouped(row["amount"]), percent(float(Decimal(row["amount"])) / float(total)),
            str(row["conversions"]), str(row["touches"])] for row in mine])
    return sections


def shown_sections(page: Page) -> dict[str, tuple[str, list[list[str]]]]:
    shown = {}
    for section in page.locator("section.currency").all():
        currency = section.get_attribute("data-currency") or ""
        cells = section.locator("table.groups tbody tr").evaluate_all(
            "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))")
        shown[currency] = (section.locator("h2").inner_text(), cells)
    return shown


def test_the_attribution_page_shows_the_api_s_totals_for_its_range_model_and_groups(
    page: Page, demo_url: str, unattributed: dict[str, Any],
) -> None:
    page.goto("/attribution")
    expect(page.get_by_role("link", name="Last month")).to_have_attribute("aria-current", "true")
    expect(page.get_by_label("From")).to_have_value(LAST_MONTH[0])
    expected = expected_sections(totals(demo_url, "DATA_DRIVEN", "DEPARTMENT", LAST_MONTH), "DEPARTMENT")
    expect(page.locator("section.currency")).to_have_count(len(expected))
    assert shown_sections(page) == expected

    page.get_by_role("link", name="Last 12 months").click()
    expect(page).to_have_url(re.compile(rf"from={LAST_YEAR[0]}&to={LAST_YEAR[1]}&model=DATA_DRIVEN"))
    rows = totals(demo_url, "DATA_DRIVEN", "DEPARTMENT", LAST_YEAR)
    expect(page.locator("section.currency")).to_have_count(len({row["currency"] for row in rows}))
    shown = shown_sections(page)
    assert shown == expected_sections(rows, "DEPARTMENT")
    assert shown["CHF"][1] == [["unattributed (no touch before it)", "1,234.50", "100.0%", "1", "0"]]
    assert len(shown) >= 3  # the demo sells in several currencies, never added together

    page.get_by_label("Model", exact=True).select_option("FIRST_TOUCH")
    page.get_by_label("Group by").select_option("ACTOR")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"model=FIRST_TOUCH&groupBy=ACTOR"))
    expect(page.locator("table.groups caption").first).to_contain_text("by actor")
    assert shown_sections(page) == expected_sections(totals(demo_url, "FIRST_TOUCH", "ACTOR", LAST_YEAR), "ACTOR")
    page.reload()  # the address holds the whole view
    expect(page.get_by_label("Group by")).to_have_value("ACTOR")
    assert serious_violations(page) == []


def test_compare_models_gives_each_model_s_share_per_department(page: Page, demo_url: str) -> None:
    page.goto(f"/attribution?from={LAST_MONTH[0]}&to={LAST_MONTH[1]}&model=LINEAR&groupBy=CHANNEL")
    by_model = {model: totals(demo_url, model, "DEPARTMENT", LAST_MONTH) for model in MODELS}
    currencies = list(dict.fromkeys(row["currency"] for row in by_model["LINEAR"]))
    expect(page.locator("table.compare")).to_have_count(len(currencies))
    differ = set()
    for currency in currencies:
        shares: dict[str, dict[str, str]] = {}
        for model, rows in by_model.items():
            mine = [row for row in rows if row["currency"] == currency]
            total = float(sum((Decimal(row["amount"]) for row in mine), Decimal(0)))
            shares[model] = {"unattributed" if row["unattributed"] else row["group"]:
                             percent(float(Decimal(row["amount"])) / total) for row in mine}
        order = [d for d in ("marketing", "sales", "product", "support", "billing", "unattributed")
                 if any(d in shares[model] for model in MODELS)]
        expected = [[key, *(shares[model].get(key, "–") for model in MODELS)] for key in order]
        shown = page.locator(f"table.compare[data-currency={currency}] tbody tr").evaluate_all(
            "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))")
        assert shown == expected, currency
        differ |= {tuple(shares[model].items()) for model in MODELS}
    assert len(differ) > len(currencies)  # the models share the demo's revenue differently


def test_a_bad_range_shows_the_api_s_message(page: Page, demo_url: str) -> None:
    refused = httpx.post(demo_url + "/graphql", json={"query": TOTALS, "variables": {
        "model": "LINEAR", "groupBy": "DEPARTMENT", "from": instant("2026-05-01"), "to": instant("2026-04-01")}}).json()
    message = refused["errors"][0]["message"]
    assert message.startswith("from: ")
    page.goto("/attribution?from=2026-05-01&to=2026-04-01")
    expect(page.get_by_role("alert")).to_have_text(message)
    page.goto("/impact?from=2026-05-01&to=2026-04-01")
    expect(page.get_by_role("alert")).to_contain_text("from: must not be after")
    page.goto("/impact?from=2000-01-01&to=2026-01-01")
    expect(page.get_by_role("alert")).to_contain_text("to: ")


@pytest.mark.parametrize("address, named", [
    ("/attribution?from=2026-05-01", "from"),
    ("/attribution?to=2026-02-30", "to"),
    ("/attribution?model=BEST", "model"),
    ("/attribution?groupBy=COLOUR", "groupBy"),
    ("/impact?to=2026-05-01", "to"),
    ("/accounts/acme?model=BEST", "model"),
    ("/matrix?rule=Not%20a%20rule", "rule"),
])
def test_an_address_the_revenue_pages_cannot_use_is_refused_by_name(page: Page, address: str, named: str) -> None:
    page.goto(address)
    expect(page.get_by_role("heading", level=1)).to_have_text("This address cannot be shown")
    expect(page.get_by_role("alert")).to_contain_text(f"{named}: ")


METRIC = {"WON_REVENUE": ("Won revenue per account", 2), "CHURN_RATE": ("Churn", None),
          "NET_REVENUE_RETENTION": ("Net revenue retention", None), "AVERAGE_HEALTH": ("Average health now", 1)}


def impact_row(c: dict[str, Any]) -> list[str]:
    name, places = METRIC[c["metric"]]

    def value(v: float | None) -> str:
        if v is None:
            return "–"
        return grouped(fixed(v, places)) if places else percent(v)

    def change(v: float) -> str:
        return grouped(fixed(v, places)) if places else f"{fixed(v * 100, 1)} pts"

    interval = ("too small to read" if c["tooSmall"] or c["low"] is None
                else f"{signed(change(c['low']))} to {signed(change(c['high']))}")
    return [name + (f" ({c['currency']})" if c["currency"] else ""), value(c["withValue"]), value(c["withoutValue"]),
            "–" if c["difference"] is None else signed(change(c["difference"])), interval,
            f"{c['withAccounts']} / {c['withoutAccounts']}", c["reading"]]


def test_the_impact_page_shows_the_api_s_comparisons_and_costs(page: Page, demo_url: str) -> None:
    data = api(demo_url, IMPACT, **{"from": instant(LAST_YEAR[0]), "to": instant(LAST_YEAR[1])})
    page.goto(f"/impact?from={LAST_YEAR[0]}&to={LAST_YEAR[1]}")
    expect(page.locator("section.scope")).to_have_count(len(data["cxImpact"]))
    assert page.locator("section.scope").evaluate_all("s => s.map(e => e.dataset.scope)") == [
        scope["scope"] for scope in data["cxImpact"]]
    assert data["cxImpact"][0]["scope"] == "HIGH"
    for scope in data["cxImpact"]:
        shown = page.locator(f'section.scope[data-scope="{scope["scope"]}"] tbody tr').evaluate_all(
            "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))")
        assert shown == [impact_row(c) for c in scope["comparisons"]], scope["scope"]
    assert page.get_by_text("too small to read").count() > 0  # the demo's fifty accounts: under 30 a side
    expect(page.locator(".caution")).to_contain_text("association, never as a cause")

    cost = data["contradictionsCost"]
    tables = page.locator("table.cost")
    by_rule = tables.nth(0).locator("tbody tr")
    assert by_rule.locator("th").all_inner_texts() == [row["rule"] for row in cost["byRule"]]
    for index, row in enumerate(cost["byRule"]):
        for column, key in (("converted", "convertedWhileOpen"), ("lost", "lostAfterHigh")):
            assert by_rule.nth(index).locator(f"td.{column} li").all_inner_texts() == [
                f"{grouped(m['amount'])} {m['currency']}" for m in row[key]["amounts"]]
    pairs = tables.nth(1).locator("tbody tr")
    assert pairs.locator("th").all_inner_texts() == [
        " and ".join(d.lower() for d in row["departments"]) for row in cost["byDepartmentPair"]]
    assert serious_violations(page) == []

    rule = cost["byRule"][0]["rule"]
    page.get_by_role("link", name=rule, exact=True).click()
    expect(page).to_have_url(re.compile(rf"/matrix\?from={LAST_YEAR[0]}&to=.*&rule={rule}"))
    last_day = (date.fromisoformat(LAST_YEAR[1]) - timedelta(days=1)).isoformat()
    found = api(demo_url, """query($rule: String) { findings(rule: $rule, state: ALL, first: 100) {
        edges { node { rule detectedAt } } } }""", rule=rule)["findings"]["edges"]
    detected = [e for e in found if LAST_YEAR[0] <= e["node"]["detectedAt"][:10] <= last_day]
    expect(page.locator("#cell-title")).to_have_text(f"Rule {rule}: {len(detected)} findings")
    assert all(f" · {rule} · " in meta for meta in page.locator(".findings .finding .meta").all_inner_texts())


def card_conversions(page: Page) -> list[tuple[str, list[str]]]:
    items = page.locator(".credits ol.conversions > li")
    return [(item.get_attribute("data-conversion") or "", item.locator("td.number").all_inner_texts())
            for item in items.all()]


def expected_conversions(url: str, account: str, model: str, as_of: str | None = None) -> list[tuple[str, list[str]]]:
    found = api(url, CONVERSIONS, id=account, model=model, asOf=as_of)["account"]["attribution"]
    return [(c["eventId"], [grouped(t["amount"]) for t in c["credits"]]) for c in found]


def test_the_account_card_shows_its_conversions_credits_by_the_model_and_follows_as_of(page: Page, demo_url: str) -> None:
    account = most_findings(demo_url)
    expected = expected_conversions(demo_url, account, "DATA_DRIVEN")
    assert expected, "the account has conversions"
    page.goto(f"/accounts/{account}")
    expect(page.get_by_label("Model", exact=True)).to_have_value("DATA_DRIVEN")
    expect(page.locator(".credits ol.conversions > li")).to_have_count(len(expected))
    assert card_conversions(page) == expected

    page.get_by_label("Model", exact=True).select_option("LINEAR")
    expect(page).to_have_url(re.compile(r"model=LINEAR"))
    expect(page.locator("section.credits")).to_have_attribute("data-model", "LINEAR")
    assert card_conversions(page) == expected_conversions(demo_url, account, "LINEAR")
    assert serious_violations(page) == []

    then = date.today() - timedelta(days=150)
    page.get_by_label("As of", exact=True).fill(then.isoformat())
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(rf"asOf={then.isoformat()}&model=LINEAR"))
    past = expected_conversions(demo_url, account, "LINEAR", f"{then.isoformat()}T23:59:59Z")
    expect(page.locator("section.credits")).to_have_attribute("data-model", "LINEAR")
    expect(page.locator(".credits ol.conversions > li")).to_have_count(len(past))
    assert card_conversions(page) == past
    assert len(past) < len(expected)  # as of then, fewer conversions had happened

    page.get_by_label("Model", exact=True).select_option("FIRST_TOUCH")  # chosen on the page of the past day
    expect(page.locator("section.credits")).to_have_attribute("data-model", "FIRST_TOUCH")
    page.get_by_role("link", name="Back to now").click()  # the model chosen last stays
    expect(page).to_have_url(re.compile(rf"/accounts/{account}\?model=FIRST_TOUCH$"))
    expect(page.locator("section.credits")).to_have_attribute("data-model", "FIRST_TOUCH")
    expect(page.locator(".credits ol.conversions > li")).to_have_count(len(expected))


@pytest.fixture
def phone(page: Page) -> Iterator[Page]:
    page.set_viewport_size(PHONE)
    yield page


def test_on_a_phone_the_revenue_pages_run_off_no_side_and_have_no_serious_violation(phone: Page, demo_url: str) -> None:
    phone.goto(f"/attribution?from={LAST_YEAR[0]}&to={LAST_YEAR[1]}&groupBy=ACTOR")
    expect(phone.locator("table.compare").first).to_be_visible()
    assert phone.evaluate(OVERFLOW) <= 0
    assert serious_violations(phone) == []
    phone.goto(f"/impact?from={LAST_YEAR[0]}&to={LAST_YEAR[1]}")
    expect(phone.locator("table.cost").first).to_be_visible()
    assert phone.evaluate(OVERFLOW) <= 0
    assert serious_violations(phone) == []
    phone.goto(f"/accounts/{most_findings(demo_url)}")
    expect(phone.locator("section.credits table.touches").first).to_be_visible()
    assert phone.evaluate(OVERFLOW) <= 0


def test_the_revenue_pages_are_reached_from_the_navigation_by_keyboard(page: Page) -> None:
    page.goto("/")
    expect(page.locator("table.accounts tbody tr").first).to_be_visible()
    page.get_by_role("link", name="Attribution").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Revenue attribution")
    page.get_by_role("link", name="Last 3 months").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/attribution\?from="))
    expect(page.locator("main")).to_be_focused()  # the new content has the focus
    page.get_by_role("link", name="CX impact").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("CX impact")
    page.get_by_label("To (excluded)").fill(LAST_MONTH[1])
    page.get_by_role("button", name="Show").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/impact\?from={LAST_MONTH[0]}&to={LAST_MONTH[1]}"))


def test_a_page_still_loading_never_covers_the_page_asked_for_after_it(page: Page) -> None:
    held: list[Route] = []

    def hold_attribution(route: Route) -> None:
        if "ConsoleAttribution" in (route.request.post_data or ""):
            held.append(route)  # answered only once the next page is shown
        else:
            route.continue_()

    page.goto("/")
    expect(page.locator("table.accounts tbody tr").first).to_be_visible()
    page.route("**/graphql", hold_attribution)
    page.get_by_role("link", name="Attribution").click()
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the attribution page asked for nothing"
    page.get_by_role("link", name="CX impact").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("CX impact")
    with page.expect_response(lambda response: response.request == held[0].request):
        held[0].continue_()
    page.wait_for_load_state("networkidle")  # the late answer has been read by the page that asked for it
    expect(page.get_by_role("heading", level=1)).to_have_text("CX impact")
    expect(page).to_have_url(re.compile(r"/impact"))
