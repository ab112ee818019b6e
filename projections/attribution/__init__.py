"""Revenue attribution: which touches, of every department, preceded each conversion, and their credit.

Pure, like the rest of `projections`: touches and conversions from an account's facts
(`journeys`), the models that share a conversion's amount among its touches (`models`,
with the data-driven one's removal effects from `markov`), and the exact split of an
amount (`allocation`). docs/attribution.md says what users get.
"""
