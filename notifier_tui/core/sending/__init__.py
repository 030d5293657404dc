"""The sender: its task tree, gateway client, circuit breaker and rate limit."""
