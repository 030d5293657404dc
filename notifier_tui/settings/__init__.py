"""Settings from flags, environment, TOML and defaults; platformdirs paths; logging set-up."""
