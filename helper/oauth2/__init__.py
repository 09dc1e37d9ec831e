"""OAuth 2.0, one module per RFC, with an error base of its own; knows nothing of the
command line."""
