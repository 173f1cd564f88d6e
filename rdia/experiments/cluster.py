"""Opening a Dask cluster for a run, or connecting to one, with one-line errors.

:func:`dask_client` gives the client of a resolved config: a LocalCluster of
``config.workers`` one-thread worker processes started here, or the scheduler at
``config.scheduler``. A scheduler that cannot be reached, an address that does not
parse and a cluster that cannot import this package are each one ``ConfigError`` line.
"""

import contextlib
import logging

from rdia.settings import ConfigError

#: Seconds to reach a scheduler given with --scheduler.
CONNECT_TIMEOUT = 10


def quiet_logs():
    """Keep Dask's log lines (connection retries, worker restarts) off stderr."""
    for name in ("distributed", "tornado"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


@contextlib.contextmanager
def dask_client(config):
    """A Dask client to ``config.scheduler`` or to a new LocalCluster of
    ``config.workers`` one-thread processes (both closed on exit); errors of a cluster
    that cannot load the package, inside the block too, become one ConfigError line."""
    import dask
    from distributed import Client, LocalCluster

    quiet_logs()
    with contextlib.ExitStack() as stack:  # vector parts travel inside tasks: no warning;
        stack.enter_context(dask.config.set(  # workers keep glibc's adaptive malloc (docs/dask.md)
            {"distributed.admin.large-graph-warning-threshold": "1GiB",
             "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}))
        if config.scheduler is None:
            cluster = stack.enter_context(LocalCluster(
                n_workers=config.workers, threads_per_worker=1, processes=True,
                dashboard_address=":0", silence_logs=logging.CRITICAL))
            client = stack.enter_context(Client(  # results straight from the workers
                cluster, set_as_default=False, direct_to_workers=True))
        else:
            client = stack.enter_context(connect(config.scheduler))
        with environment_errors():
            yield client


def connect(address):
    """A client of the scheduler at ``address``; ConfigError after CONNECT_TIMEOUT s."""
    from distributed import Client

    check_address(address)
    try:
        return Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError, TypeError) as error:
        detail = " ".join(str(error).split()) or type(error).__name__
        raise ConfigError(f"--scheduler {address}: cannot reach a Dask scheduler within "
                          f"{CONNECT_TIMEOUT} s ({detail}); start one with 'dask "
                          f"scheduler' and workers with 'dask worker ADDRESS'") from None


def check_address(address):
    """ConfigError unless ``address`` reads as a scheduler address (tcp://host:port).

    Checked before connecting: a client built on an address that does not parse is
    left half made, and its clean-up at exit times out 20 s later with a traceback.
    """
    from distributed.comm import parse_address, parse_host_port

    try:
        scheme, location = parse_address(address)
        if scheme in ("tcp", "tls"):
            parse_host_port(location)
    except (ValueError, TypeError) as error:
        detail = " ".join(str(error).split())
        raise ConfigError(f"--scheduler {address}: not a scheduler address ({detail}); "
                          f"give one such as tcp://host:8786") from None


@contextlib.contextmanager
def environment_errors():
    """A scheduler or worker that cannot import the package rdia: one ConfigError."""
    try:
        yield
    except (ModuleNotFoundError, RuntimeError) as error:
        cause = error if isinstance(error, ModuleNotFoundError) else error.__cause__
        if not isinstance(cause, ModuleNotFoundError) and "deserializ" not in str(error):
            raise
        raise ConfigError(f"the Dask cluster cannot load this project's code "
                          f"({' '.join(str(cause or error).split())[:120]}); install it on "
                          f"the scheduler and every worker: pip install -r "
                          f"requirement.txt in a clone of the same version") from None
