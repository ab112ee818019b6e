"""The read path: accounts, timelines, findings and account views, through asyncpg."""
