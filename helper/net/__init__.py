"""The network: HTTP transport with deadlines and retries, bounded JSON, URL and host rules."""
