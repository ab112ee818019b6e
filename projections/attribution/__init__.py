"""Revenue attribution: which touches, of every department, preceded each conversion, and their credit.

Pure, like the rest of `projections`: touches and conversions from an account's facts
(`journeys`), the models that share a conversion's amount among its touches (`models`,
with the data-driven one's removal effects from `markov`), the exact split of an amount
(`allocation`), sums per currency and group (`totals`), many accounts at once
(`accounts`), and the per-account fold (`fold`). docs/attribution.md says what users get.
"""
