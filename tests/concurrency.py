"""Helpers of the race tests: callables released at the same instant, each on its own connection."""

import threading

from django.db import connection


def run_at_once(jobs):
    """Run the callables in threads released together; return their results."""
    barrier = threading.Barrier(len(jobs))
    results = [None] * len(jobs)

    def run(index, job):
        try:
            barrier.wait()
            results[index] = job()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def attempt(call):
    """A job that runs ``call`` and returns "ok", or the refusal's code when it is refused."""

    def job():
        try:
            call()
        except Exception as error:  # the race's loser: its refusal is the result
            return getattr(error, "code", type(error).__name__)
        return "ok"

    return job
