"""Where tokens come from: the provider contract and one module per provider."""
