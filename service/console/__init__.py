"""The web console: a single page of plain ES modules, served by the service itself, that reads only the public GraphQL API."""
