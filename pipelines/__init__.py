"""Runnable compositions (run each file as a script); a package only so tests can import them."""
