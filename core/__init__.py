"""The kernel both sides share: settings, the repository config, the GitHub client, logs,
redaction, the part registry, the engine names and the Redis connections."""
