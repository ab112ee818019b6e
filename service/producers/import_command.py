"""`cx360 import FILE`: the command around `import_file`, on the service's database."""

from __future__ import annotations

import argparse
import logging
import sys
import time

from service.producers.csv_mapping import MappingError, mapping_of
from service.producers.import_file import ImportFailed, ImportPlan, meter_for, run_import
from service.settings import Settings
from service.store.event_store import StoreUnavailable

MAX_BATCH = 100_000
SOME_NOT_STORED = 4  # the exit code of an import done with lines rejected or in conflict (the rejections file says which)


def import_command(args: argparse.Namespace, settings: Settings) -> int:
    from service.runtime.database import database
    from service.settings import connection_params
    from service.store.event_store import EventStore, store_env

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    path = args.file
    if not path.is_file():
        print(f"cx360: file: {path.name!r} is not a file that can be read", file=sys.stderr)
        return 2
    batch = args.batch if args.batch is not None else settings.max_batch_events
    if not 1 <= batch <= MAX_BATCH:
        print(f"cx360: --batch must be between 1 and {MAX_BATCH} (got {batch})", file=sys.stderr)
        return 2
    chosen = args.format or ("csv" if path.suffix.lower() == ".csv" else "jsonl")
    try:
        mapping = mapping_of(args.mapping, args.map, args.set)
    except MappingError as error:
        print(f"cx360: {error}", file=sys.stderr)
        return 2
    if chosen == "jsonl" and (args.mapping or args.map or args.set):
        print("cx360: --mapping, --map and --set: a JSONL file holds envelopes; mappings are for CSV", file=sys.stderr)
        return 2
    plan = ImportPlan(path=path, format=chosen, batch=batch, restart=args.restart, mapping=mapping,
                      rejections=args.rejections or path.with_name(path.name + ".rejections"),
                      checkpoint=args.checkpoint or path.with_name(path.name + ".checkpoint"),
                      limits=settings.limits)
    started = time.perf_counter()
    with database(settings) as url:
        store = EventStore(env=store_env(connection_params(url)), write_timeout=settings.write_timeout_seconds)
        try:
            progress, resumed = run_import(store, plan, lambda progress: meter_for(plan, progress))
        except ImportFailed as error:
            print(f"cx360: {error}", file=sys.stderr)
            return 2
        except StoreUnavailable as failure:
            print(f"cx360: {failure}; run the same command again to resume from the checkpoint", file=sys.stderr)
            return 1
        finally:
            store.close()
    seconds = time.perf_counter() - started
    print(f"imported {path.name}: {progress.events:,} events through line {progress.line:,}: {progress.accepted:,} new, "
          f"{progress.duplicates:,} duplicates, {progress.conflicts:,} conflicts, {progress.rejected:,} rejected"
          f"{f' (see {plan.rejections.name})' if progress.rejected or progress.conflicts else ''}; "
          f"{seconds:.1f} s this run{f', resumed after line {resumed:,}' if resumed else ''}")
    return SOME_NOT_STORED if progress.rejected or progress.conflicts else 0
