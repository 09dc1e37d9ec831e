"""Where tokens come from: the provider contract (base.py), the profile value every provider
reads (profile.py), the registry of providers by name (registry.py), and one module or
package per provider (oauth.py, copilot/), each owning all it knows: its keys, its server's
answers, its doctor checks and the logins it can import."""
