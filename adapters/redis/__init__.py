"""Redis adapters: the shared store for counters (rate limits) across app instances."""
