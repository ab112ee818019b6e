"""The `cx360` command: serve the API, rebuild the projections, manage API keys and webhook mappings, import
events, write reports, export the schema.

Exit codes: 0 done (and `serve` stopped by SIGINT or SIGTERM); 1 a command failed (a
rebuild, or a server that could not listen); 2 a bad setting or argument; 3 the
database could not be reached, or the embedded server could not start.
"""

from __future__ import annotations

import argparse
import gc
import logging
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from service.settings import Settings

NO_DATABASE = 3  # the exit code when the database cannot be reached or the embedded server cannot start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cx360", description="The cx360 customer-360 API.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the GraphQL API (GraphiQL at /graphql in a browser)")
    serve.add_argument("--host", help="interface to listen on (default: CX360_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default: CX360_PORT or 8000)")
    serve.add_argument("--demo", action="store_true", help="load the demo accounts at start (idempotent)")
    export = commands.add_parser("export-schema", help="print the GraphQL schema (SDL)")
    export.add_argument("--output", "-o", type=Path, help="write to this file instead of standard output")
    rebuild = commands.add_parser(
        "rebuild",
        help="rebuild the findings and views from the event store (with the current settings) while the service serves",
    )
    rebuild.add_argument("--workers", type=int, help="processes judging accounts in parallel (default: CPUs, at most 4)")
    commands.add_parser("rules", help="print the rule thresholds in force (defaults or CX360_RULES_FILE) as TOML")
    add_keys_parser(commands)
    add_webhook_parsers(commands)
    add_report_parser(commands)
    add_import_parser(commands)
    args = parser.parse_args(argv)
    try:
        return run_command(args)
    except database_failures() as failure:  # (evaluated only when an exception comes)
        print(f"cx360: {failure}", file=sys.stderr)
        return NO_DATABASE
    except KeyboardInterrupt:  # Ctrl-C before the server serves (while the database starts, say)
        print("cx360: interrupted", file=sys.stderr)
        return 130


def run_command(args: argparse.Namespace) -> int:
    if args.command == "rules":
        return rules_command()
    if args.command == "serve":
        return serve_command(args)
    if args.command == "rebuild":
        return rebuild_command(args.workers)
    if args.command == "keys":
        return keys_command(args)
    if args.command in ("mappings", "webhooks"):
        return webhook_commands(args)
    if args.command == "report":
        return report_command(args)
    if args.command == "import":
        from service.producers.import_command import import_command

        settings = settings_from_env()
        return import_command(args, settings) if settings is not None else 2
    return export_command(args)


def add_keys_parser(commands: Any) -> None:
    keys = commands.add_parser("keys", help="API keys: create, list or revoke them (beside a running service, on its database)")
    actions = keys.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create a key; prints its token, once, on the last line")
    create.add_argument("--name", required=True, help="who holds the key: a system or a person (1 to 100 characters)")
    create.add_argument("--scope", action="append", required=True,
                        help="events:write, views:read, streams:read or admin; repeat it, or separate with commas")
    create.add_argument("--days", type=int, help="the key expires this many days from now (1 to 3650; default: never)")
    create.add_argument("--source", action="append", help="the key records events of this source only; repeat it for "
                                                          "several (default: any source)")
    actions.add_parser("list", help="every key, revoked ones included (never their tokens)")
    revoke = actions.add_parser("revoke", help="revoke a key: every replica refuses it within a second")
    revoke.add_argument("key_id", help="the key's id, as `cx360 keys list` shows it")


def whole_days(text: str) -> int:
    """`--older-than`: a whole number of days, 0 or more."""
    if not (text.isascii() and text.isdigit()):
        raise argparse.ArgumentTypeError(f"must be a whole number of days, 0 or more (got {text!r})")
    return int(text)


def add_webhook_parsers(commands: Any) -> None:
    providers = ("stripe", "zendesk", "hubspot")
    mappings = commands.add_parser("mappings", help="webhooks: map a provider's customer to an account (docs/webhooks.md)")
    actions = mappings.add_subparsers(dest="action", required=True)
    put = actions.add_parser("set", help="map it, then store the customer's parked events")
    put.add_argument("provider", choices=providers)
    put.add_argument("external_id", help="the provider's id: cus_…, a Zendesk organisation id, company:<id> or deal:<id>")
    put.add_argument("account_id", help="the account, in the tenant's own id space")
    put.add_argument("--new-account", action="store_true", help="the account is new: no event names it yet (without "
                                                               "this, an account no event names is refused)")
    listing = actions.add_parser("list", help="every mapping")
    listing.add_argument("--provider", choices=providers)
    remove = actions.add_parser("remove", help="remove a mapping: the customer's next events are parked")
    remove.add_argument("provider", choices=providers)
    remove.add_argument("external_id")
    webhooks = commands.add_parser("webhooks", help="webhooks: the events parked (not stored yet), and why")
    what = webhooks.add_subparsers(dest="action", required=True)
    parked = what.add_parser("parked", help="the parked events, the most recent first")
    parked.add_argument("--provider", choices=providers)
    parked.add_argument("--all", action="store_true", help="also those stored since, once mapped")
    purge = what.add_parser("purge", help="delete parked events kept long enough: by default those stored since "
                                          "(their events are in the store)")
    purge.add_argument("--older-than", type=whole_days, required=True, metavar="DAYS",
                       help="only those parked (or, for `stored`, stored) more than DAYS days ago")
    purge.add_argument("--provider", choices=providers)
    purge.add_argument("--cause", nargs="+", default=["stored"], metavar="KIND",
                       choices=["stored", "unusable", "rejected", "unmapped", "incomplete"],
                       help="which: stored (the default), unusable, rejected, or unmapped and incomplete (still "
                            "waiting: their events are dropped for good)")


def webhook_commands(args: argparse.Namespace) -> int:
    from service.webhooks.commands import mappings_command, parked_command, purge_command

    settings = command_settings()
    if settings is None:
        return 2
    if args.command == "webhooks" and args.action == "purge":
        return purge_command(settings, args.older_than, args.provider, sorted(set(args.cause)))
    if args.command == "webhooks":
        return parked_command(settings, args.provider, args.all)
    return mappings_command(settings, args.action, getattr(args, "provider", None), getattr(args, "external_id", None),
                            getattr(args, "account_id", None), getattr(args, "new_account", False))


def add_report_parser(commands: Any) -> None:
    report = commands.add_parser(
        "report", help="the contradictions' cost and CX impact of a range, as one self-contained HTML file or CSV")
    report.add_argument("--from", dest="start", help="the range's start: a date (midnight UTC) or a date-time with an "
                                                     "offset (default: the first day of last month)")
    report.add_argument("--to", dest="end", help="the range's end, excluded (default: the first day of this month)")
    report.add_argument("--format", choices=("html", "csv"), default="html", help="html (default) or csv")
    report.add_argument("--output", "-o", type=Path,
                        help="the file to write (default: cx360-report-FROM-to-TO.html or .csv here)")


def report_command(args: argparse.Namespace) -> int:
    from service.report.command import report_command as run

    settings = command_settings()
    if settings is None:
        return 2
    return run(settings, args.start, args.end, args.format, args.output)


def add_import_parser(commands: Any) -> None:
    command = commands.add_parser(
        "import", help="import events from a JSONL or CSV file (resumable; docs/producers.md)",
        epilog="exit status: 0 every line stored (or stored before), 4 done with lines rejected or in conflict "
               "(see the rejections file), 1 the database failed midway (run it again to resume), 2 bad arguments, "
               "3 no database")
    command.add_argument("file", type=Path, help="the file: one envelope per line (.jsonl, .ndjson) or a CSV with a header")
    command.add_argument("--format", choices=("jsonl", "csv"), help="default: by the file's suffix (.csv is CSV)")
    command.add_argument("--mapping", type=Path, help="a TOML file mapping CSV columns: [columns] and [constants]")
    command.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                         help="a CSV column for an envelope field or data.<key>; repeat it")
    command.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                         help="an envelope field with the same value on every CSV row (say source=legacy); repeat it")
    command.add_argument("--batch", type=int, help="events per transaction (default: CX360_MAX_BATCH_EVENTS)")
    command.add_argument("--rejections", type=Path, help="where rejected lines go (default: FILE.rejections)")
    command.add_argument("--checkpoint", type=Path, help="where progress is kept (default: FILE.checkpoint)")
    command.add_argument("--restart", action="store_true", help="ignore a checkpoint: import from the first line")


def keys_command(args: argparse.Namespace) -> int:
    from service.access.commands import keys_command as run

    settings = command_settings()
    if settings is None:
        return 2
    return run(settings, args.action, getattr(args, "name", None), getattr(args, "scope", None) or [],
               getattr(args, "key_id", None), getattr(args, "days", None), getattr(args, "source", None) or [])


def serve_command(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from service.observability.logs import configure_logging
    from service.runtime.database import open_database
    settings = settings_from_env()
    if settings is None:
        return 2
    configure_logging(settings.log_format)
    if args.port is not None and not 1 <= args.port <= 65535:
        print(f"cx360: --port must be between 1 and 65535 (got {args.port})", file=sys.stderr)
        return 2
    settings = replace(settings, host=args.host or settings.host, port=args.port or settings.port)
    database = open_database(settings)  # first: a database it cannot use stops it within seconds, in one line
    try:
        import uvicorn

        from service.bootstrap import build_app
        from service.runtime.server import Server

        app = build_app(settings, demo=args.demo, database=database)
        collect_garbage_for_serving()
        sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
        config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level="info",
                                timeout_graceful_shutdown=10,
                                log_config=None)  # uvicorn's lines go through our handler, in our format
        with stopped_by_signals():
            Server(config, app.state.close_subscribers).run()
    finally:
        database.close()
    return 0


# How long a thread holding the interpreter's lock keeps it while another waits (Python's default is 5 ms). The
# service's worker threads take turns: one validates a batch while another waits on the database, and each answer
# the database gives wakes a thread that must then take the lock from the one validating. At 5 ms a wait, a bulk
# transaction's few wake-ups cost more than its statement (measured: one producer's bulk path +15% at 0.5 ms,
# docs/producers.md); the event loop serving reads beside a bulk load gets its turn sooner too.
SWITCH_INTERVAL_SECONDS = 0.001


def collect_garbage_for_serving() -> None:
    """The interpreter's cyclic garbage collector tuned for a server: what the start made is set aside for good
    (it lives as long as the process), and young objects are collected every 10,000 allocations, not 700 (the
    older generations at their default ratios). With the defaults, a bulk request of 5,000 events set off full
    collections of every object in the process: a 100 ms pause in the middle of a batch, for garbage that is
    nearly all freed by reference counting anyway."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


@contextmanager
def stopped_by_signals() -> Iterator[None]:
    """SIGINT and SIGTERM stop the server gracefully, and then the command ends with 0.

    uvicorn handles both while it serves and, once stopped, raises the signal again for
    the handler it found: Python's own would end the command with a KeyboardInterrupt
    traceback (SIGINT) or killed by the signal (SIGTERM). Ours does nothing: the
    server has stopped, the command returns.
    """
    handled = (signal.SIGINT, signal.SIGTERM)
    before = {each: signal.signal(each, lambda *_: None) for each in handled}
    try:
        yield
    finally:
        for each, handler in before.items():
            signal.signal(each, handler)


def database_failures() -> tuple[type[Exception], ...]:
    """What stops a command at start because of its database (exit code 3)."""
    from service.runtime.database import DatabaseUnreachable, DatabaseUnsupported
    from service.runtime.embedded_postgres import EmbeddedPostgresError

    return DatabaseUnreachable, DatabaseUnsupported, EmbeddedPostgresError


def rebuild_command(workers: int | None) -> int:
    from projections.thresholds import with_attribution
    from service.observability.logs import configure_logging
    from service.projection.rebuild import RebuildFailed, RebuildRunning, rebuild
    from service.runtime.database import database, datastore_of
    from service.settings import connection_params
    from service.store.event_store import EventStore, store_env

    settings = settings_from_env()
    if settings is None:
        return 2
    configure_logging(settings.log_format, logging.WARNING)
    if workers is not None and not 1 <= workers <= 64:
        print(f"cx360: --workers must be between 1 and 64 (got {workers})", file=sys.stderr)
        return 2
    with database(settings) as url:
        params = connection_params(url)
        EventStore(env=store_env(params)).close()  # the store's tables, if this database is new
        datastore = datastore_of(params)
        try:
            report = rebuild(datastore, url, with_attribution(settings.thresholds, settings.attribution), progress=progress_bar(sys.stderr),
                             weights=settings.health_weights, workers=workers)
        except (RebuildRunning, RebuildFailed) as error:
            print(f"cx360: {error}", file=sys.stderr)
            return 1
        finally:
            datastore.close()
    print(f"\nrebuilt the findings: {report.events:,} events of {report.accounts:,} accounts, "
          f"{report.findings:,} findings, in {report.seconds:.1f}s "
          f"({report.events / max(report.seconds, 1e-9):,.0f} events/s)", file=sys.stderr)
    return 0


def progress_bar(stream: Any, width: int = 30) -> Callable[[int, int], None]:
    """A one-line progress bar, redrawn in place."""
    started = time.perf_counter()

    def draw(done: int, total: int) -> None:
        share = done / total if total else 1.0
        filled = int(share * width)
        rate = done / max(time.perf_counter() - started, 1e-9)
        stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} events {share:4.0%} "
                     f"{rate:,.0f}/s")
        stream.flush()

    return draw


def rules_command() -> int:
    from projections.thresholds import thresholds_toml
    settings = settings_from_env()
    if settings is None:
        return 2
    sys.stdout.write(thresholds_toml(settings.thresholds))
    return 0


def command_settings() -> Settings | None:
    """For a command beside the service (keys, mappings, report): warnings logged plainly, and the settings."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return settings_from_env()


def settings_from_env() -> Settings | None:
    """The settings, or None after saying on stderr which variable is wrong."""
    from service.settings import Settings, SettingsError

    try:
        return Settings.from_env()
    except SettingsError as error:
        print(f"cx360: {error}", file=sys.stderr)
        return None


def export_command(args: argparse.Namespace) -> int:
    from service.api.schema import build_schema

    sdl = build_schema().as_str() + "\n"
    if args.output is None:
        sys.stdout.write(sdl)
    else:
        args.output.write_text(sdl)
    return 0


if __name__ == "__main__":
    sys.exit(main())
