"""The invoice as the bridge understands it, and how a deal becomes one."""
