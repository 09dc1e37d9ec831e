"""Everything on disk: paths, private files, the state and token files, the secret store, locks."""
