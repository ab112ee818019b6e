"""Running the service: the database (embedded or `DATABASE_URL`), the server, its middleware."""
