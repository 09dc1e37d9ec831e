"""The life cycle of a profile's tokens: configuration, routing, the life cycle itself, logins."""
