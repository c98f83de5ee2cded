"""The durable outbox: every call that leaves the process is a job row, drained by a worker."""
