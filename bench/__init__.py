"""`nox -s bench`: what a background task costs in each framework and server."""
