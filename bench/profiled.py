"""`python -m bench.profiled <uvicorn arguments>`: uvicorn with a profiler on a switch.

SIGUSR1 starts cProfile on the main (event-loop) thread, SIGUSR2 stops it and writes the
stats to `$AFTERWARD_PROFILE`: start-up and warm-up stay out of the profile.
"""

import cProfile
import os
import signal
import sys

import uvicorn.main

profiler = cProfile.Profile()


def start(*_: object) -> None:
    profiler.enable()


def stop(*_: object) -> None:
    profiler.disable()
    profiler.dump_stats(os.environ["AFTERWARD_PROFILE"])


signal.signal(signal.SIGUSR1, start)
signal.signal(signal.SIGUSR2, stop)
sys.exit(uvicorn.main.main())
