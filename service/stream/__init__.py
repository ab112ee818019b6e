"""The stream path: the event log and the finding changes, followed for subscribers."""
