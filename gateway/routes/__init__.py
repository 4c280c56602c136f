"""Transport: one module per inbound source. Authenticate, parse, enqueue, answer; nothing more."""
