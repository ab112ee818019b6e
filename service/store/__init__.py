"""The write path: validating a batch, appending it to the event store in one transaction."""
