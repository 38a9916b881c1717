"""WiGLE enrichment: per-organization credentials, the API client, response parsing, the
24-hour quota ledger and the enrichment service the jobs and the CLI call."""
