"""Who may do what: request authentication and rate limits, the release decision, approval checks, the data path, the release cache and the PDS client."""
