"""The loop back: what the accountant did in 1C (posted, paid, cancelled, unposted) told to the deal once."""
