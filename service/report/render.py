"""A report as one self-contained HTML page (styles and charts inline) or as CSV rows for spreadsheets.

The page is built from strings: every value from the data goes through `text()`
(`html.escape`), the only way data reaches the page. One page does not call for a
template engine; if the report grows into several, Jinja2 with autoescape is the tool.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from decimal import Decimal
from functools import partial
from html import escape

from projections.attribution.contradictions import Cost, Tally
from projections.attribution.impact import MIN_GROUP, Comparison, Impact, reading, shown
from projections.attribution.totals import Total
from service.report.charts import bars, intervals
from service.report.data import Report

STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; color: #1b1f24; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: 0; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #c8ccd1; }
p.meta { color: #4a5058; margin-top: .2rem; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 14px; }
th, td { border-bottom: 1px solid #dde1e5; padding: .3rem .6rem; text-align: right; vertical-align: top; }
th:first-child, td:first-child { text-align: left; } th { background: #f2f4f6; }
.note { background: #fff8e1; border-left: 4px solid #b7791f; padding: .5rem .8rem; }
figure { margin: 1.5rem 0; } figcaption { font-weight: 600; }
svg.chart { display: block; max-width: 100%; height: auto; margin: .3rem 0 1rem; }
svg .label, svg .value { font: 12px system-ui, sans-serif; fill: #1b1f24; }
svg .bar { fill: #2b6cb0; } svg .zero { stroke: #4a5058; stroke-dasharray: 3 3; }
svg .whisker { stroke: #2b6cb0; stroke-width: 2; } svg .point { fill: #c05621; }
svg .point.small { fill: #fff; stroke: #c05621; stroke-width: 2; }
"""

METRICS = {"won_revenue": "Won per account", "churn_rate": "Churn", "net_revenue_retention": "Net revenue retention",
           "average_health": "Average health"}


def text(value: object) -> str:
    return escape(str(value))


def money(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def html_report(report: Report) -> str:
    span = f"{report.start:%Y-%m-%d %H:%M} to {report.end:%Y-%m-%d %H:%M} UTC (the end excluded)"
    sections = [attribution_section(report), cost_section(report), impact_section(report)]
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width, initial-scale=1"><title>cx360 report: {text(span)}</title>'
            f"<style>{STYLE}</style></head><body><main><h1>Customer experience report</h1>"
            f'<p class="meta">{text(span)}; made {report.generated_at:%Y-%m-%d %H:%M} UTC by cx360.</p>'
            f"{''.join(sections)}</main></body></html>\n")


MODEL_NAMES = {"first_touch": "First touch", "last_touch": "Last touch", "linear": "Linear", "time_decay": "Time decay",
               "position_based": "Position based", "data_driven": "Data driven"}
UNATTRIBUTED = "unattributed (no touch before)"


def attribution_section(report: Report) -> str:
    found = sorted({total.currency for totals in report.attribution.values() for total in totals})
    intro = ("<section><h2>What the experience earned</h2><p>The revenue converted in the range (won opportunities, "
             "and upgrades where the settings count them), credited to the touches of every department before it, "
             "by each model. Revenue no touch preceded is shown as unattributed, never dropped.</p>")
    if not found:
        return intro + "<p>No conversion in the range.</p></section>"
    parts = [intro]
    for currency in found:
        by_model = {model: {label_of(total): total for total in totals if total.currency == currency}
                    for model, totals in report.attribution.items()}
        labels = sorted({label for totals in by_model.values() for label in totals},
                        key=lambda label: (label == UNATTRIBUTED, label))
        chosen = "data_driven" if by_model.get("data_driven") else next(iter(by_model))
        parts.append(bars(f"By department, {MODEL_NAMES.get(chosen, chosen).lower()} model, {currency}",
                          [(label, float(by_model[chosen][label].amount)) for label in labels
                           if label in by_model[chosen]], money_of))
        head = "".join(f"<th>{text(MODEL_NAMES.get(model, model))}</th>" for model in by_model)
        body = "".join(
            f"<tr><td>{text(label)}</td>" + "".join(
                f"<td>{money(by_model[model][label].amount) if label in by_model[model] else '—'}</td>"
                for model in by_model)
            + f"<td>{conversions_of(by_model, label)}</td></tr>"
            for label in labels)
        parts.append(f"<table><thead><tr><th>Department ({text(currency)})</th>{head}<th>Conversions</th></tr>"
                     f"</thead><tbody>{body}</tbody></table>")
    return "".join(parts) + "</section>"


def label_of(total: Total) -> str:
    return UNATTRIBUTED if total.unattributed else (total.group or "none")


def conversions_of(by_model: dict[str, dict[str, Total]], label: str) -> int:
    """The conversions a department's credit is made of (the same under every model that credits it)."""
    return max((totals[label].conversions for totals in by_model.values() if label in totals), default=0)


def currencies(tallies: Sequence[Tally]) -> list[str]:
    return sorted({currency for tally in tallies for currency in tally.amounts})


def amounts(tally: Tally, currency: str) -> str:
    amount = tally.amounts.get(currency)
    return "—" if amount is None else money(amount)


def cost_table(title: str, rows: Sequence[tuple[str, Cost]]) -> str:
    found = currencies([tally for _, cost in rows for tally in (cost.converted_while_open, cost.lost_after_high)])
    head = "".join(f"<th>Converted while open ({text(c)})</th>" for c in found) + "<th>Conversions</th>" + "".join(
        f"<th>Lost after HIGH ({text(c)})</th>" for c in found) + "<th>Losses</th><th>Losses of unknown amount</th>"
    body = "".join(
        f"<tr><td>{text(label)}</td>"
        + "".join(f"<td>{amounts(cost.converted_while_open, c)}</td>" for c in found)
        + f"<td>{cost.converted_while_open.events}</td>"
        + "".join(f"<td>{amounts(cost.lost_after_high, c)}</td>" for c in found)
        + f"<td>{cost.lost_after_high.events}</td><td>{cost.lost_after_high.unknown_amounts}</td></tr>"
        for label, cost in rows)
    charts = "".join(
        bars(f"{title}: {words}, {currency}", values, money_of)
        for currency in found
        for words, values in (
            ("converted while open", [(label, float(cost.converted_while_open.amounts.get(currency, 0)))
                                      for label, cost in rows]),
            ("lost after a HIGH finding", [(label, float(cost.lost_after_high.amounts.get(currency, 0)))
                                           for label, cost in rows]))
        if any(value for _, value in values))
    return f"<h3>{text(title)}</h3>{charts}<table><thead><tr><th>{text(title)}</th>{head}</tr></thead>" \
           f"<tbody>{body}</tbody></table>"


def money_of(value: float) -> str:
    return f"{value:,.2f}"


def cost_section(report: Report) -> str:
    by_rule = [(rule, report.cost.by_rule[rule]) for rule in sorted(report.cost.by_rule)]
    by_pair = [(" + ".join(pair), cost) for pair, cost in sorted(report.cost.by_pair.items())]
    if not by_rule:
        return "<section><h2>What contradictions stand beside</h2><p>No conversion, renewal or loss in the range " \
               "came while a finding was open or after a HIGH one.</p></section>"
    return ("<section><h2>What contradictions stand beside</h2><p>Revenue that came in while a finding was open on "
            "the account (conversions and renewals), and revenue lost (opportunities lost, subscriptions cancelled) "
            "in the 90 days after a HIGH finding was detected. Amounts are per currency, never added across "
            "currencies.</p>" + cost_table("By rule", by_rule) + cost_table("By department pair", by_pair)
            + "</section>")


def impact_section(report: Report) -> str:
    if not report.impact:
        return ""
    note = ('<p class="note">Association, not proof: accounts in trouble draw contradictions, and contradictions may '
            "come of the trouble. An interval that holds 0 is a difference the data cannot tell from none. A group "
            f"under {MIN_GROUP} accounts is too small to read: its values are shown, its interval is not.</p>")
    charts = []
    for metric in ("churn_rate", "net_revenue_retention", "won_revenue", "average_health"):
        keys = sorted({each.currency or "" for impact in report.impact for each in impact.comparisons
                       if each.metric == metric})
        for currency in keys:
            rows = [(impact.scope, each.difference, each.low, each.high) for impact in report.impact
                    for each in impact.comparisons
                    if each.metric == metric and (each.currency or "") == currency and each.difference is not None]
            if rows:
                label = METRICS[metric] + (f" ({currency})" if currency else "")
                charts.append(intervals(f"{label}: with minus without (a hollow point: a group too small to read; "
                                        "a line: the 95% interval)", rows,
                                        partial(shown, metric)))
    tables = "".join(impact_table(impact) for impact in report.impact)
    return ("<section><h2>CX impact</h2><p>Accounts with a HIGH finding open in the range against those with none "
            "(HIGH), then per rule: accounts with the rule's finding open against those with neither a HIGH finding "
            "nor one of the rule.</p>" + note + "".join(charts) + tables + "</section>")


def impact_table(impact: Impact) -> str:
    rows = "".join(
        f"<tr><td>{text(METRICS[each.metric])}{text(f' ({each.currency})' if each.currency else '')}</td>"
        f"<td>{shown(each.metric, each.with_value)}</td><td>{shown(each.metric, each.without_value)}</td>"
        f"<td>{shown(each.metric, each.difference)}</td>"
        f"<td>{shown(each.metric, each.low)} to {shown(each.metric, each.high)}</td>"
        f"<td>{each.with_accounts} / {each.without_accounts}</td></tr>"
        for each in impact.comparisons)
    readings = "".join(f"<li>{text(reading(each))}</li>" for each in impact.comparisons)
    small = " (too small to read)" if impact.too_small else ""
    return (f"<h3>{text(impact.scope)}: {impact.with_accounts} accounts with, {impact.without_accounts} without"
            f"{small}</h3><table><thead><tr><th>Outcome</th><th>With</th><th>Without</th><th>Difference</th>"
            f"<th>95% interval</th><th>Accounts (with / without)</th></tr></thead><tbody>{rows}</tbody></table>"
            f"<ul>{readings}</ul>")


CSV_COLUMNS = ("section", "row", "measure", "currency", "value", "count")


def csv_rows(report: Report) -> Iterator[tuple[object, ...]]:
    """One number per row (tidy: a spreadsheet pivots it), with the count it is made of where it has one: the
    conversions of a credit, the events (of every currency) of a cost, the accounts of an impact's value."""
    for model, totals in report.attribution.items():
        for total in totals:
            yield ("attribution_by_department", label_of(total), model, total.currency, f"{total.amount:f}",
                   total.conversions)
    for section, rows in (("cost_by_rule", sorted(report.cost.by_rule.items())),
                          ("cost_by_department_pair", [(" + ".join(pair), cost)
                                                       for pair, cost in sorted(report.cost.by_pair.items())])):
        for label, cost in rows:
            for name, tally in (("converted_while_open", cost.converted_while_open),
                                ("lost_after_high", cost.lost_after_high)):
                for currency in sorted(tally.amounts):
                    yield section, label, name, currency, f"{tally.amounts[currency]:f}", tally.events
                if tally.unknown_amounts:
                    yield section, label, f"{name}_of_unknown_amount", "", tally.unknown_amounts, ""
    for impact in report.impact:
        for each in impact.comparisons:
            yield from comparison_rows(impact.scope, each)


def comparison_rows(scope: str, compared: Comparison) -> Iterator[tuple[object, ...]]:
    currency = compared.currency or ""
    for name, value, count in (("with", compared.with_value, compared.with_accounts),
                               ("without", compared.without_value, compared.without_accounts),
                               ("difference", compared.difference, None),
                               ("interval_low", compared.low, None), ("interval_high", compared.high, None)):
        yield "cx_impact", scope, f"{compared.metric}_{name}", currency, "" if value is None else value, \
            "" if count is None else count


def csv_report(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(csv_rows(report))
    return out.getvalue()
