"""`python -m bench.profiled <uvicorn arguments>`: uvicorn with a profiler on a switch.

SIGUSR1 starts cProfile on the main (event-loop) thread, SIGUSR2 stops it and writes the
stats to `$AFTERWARD_PROFILE`: start-up and warm-up stay out of the profile. The stats are
written under a temporary name and renamed into place, so the file appears whole or not at
all: its name is the signal that the profile is complete.
"""

import cProfile
import os
import signal
import sys

profiler = cProfile.Profile()


def start(*_: object) -> None:
    profiler.enable()


def stop(*_: object) -> None:
    profiler.disable()
    final = os.environ["AFTERWARD_PROFILE"]
    partial = f"{final}.part"
    profiler.dump_stats(partial)
    os.replace(partial, final)  # atomic on one file system: the reader waits for this name


if __name__ == "__main__":
    import uvicorn.main

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    sys.exit(uvicorn.main.main())
