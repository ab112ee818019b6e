"""`cx360 report`: the contradictions' cost and CX impact of a range, as one HTML file or CSV."""
