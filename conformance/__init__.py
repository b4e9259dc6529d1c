"""The conformance suite: what each framework does after the response, measured on real servers."""
