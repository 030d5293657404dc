"""Server operations: the daemon, Prometheus metrics, the daily report and its mailer."""
