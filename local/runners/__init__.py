"""The local stack's runners: what `make run`, `bench`, `bench-status`, `soak`, `coldstart` and `doctor` start."""
