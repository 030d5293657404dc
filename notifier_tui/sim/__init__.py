"""The gateway simulator: a real HTTP server on loopback with fault knobs.

It imports nothing else of notifier_tui, so it can run as a separate process in
benchmarks and be reused by any project that speaks the same gateway contract.
"""
