"""Producers beyond `recordEvents`: CloudEvents and NDJSON over `POST /events`, and `cx360 import`."""
