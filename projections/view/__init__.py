"""The account experience view: pure functions from an account's facts (as of a moment) to what a
front-end or a support agent reads. No I/O; the projector stores the result as rows."""
