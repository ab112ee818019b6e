"""People handling findings: acting on them, ownership and deadlines, and the reads of both."""
