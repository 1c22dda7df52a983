"""The ``chatkpi`` command line (SPEC 14). Global options go before or after the command.

Exit status 0 on success (also when rows were quarantined: they are reported), 2 with a
one-line reason on stderr when the command itself cannot do its job.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from kpi_transforms.core.config import Config, ConfigError, load_config
from kpi_transforms.core.errors import ChatKpiError
from kpi_transforms.core.periods import parse_period
from kpi_transforms.present.safe_text import printable, printable_lines

if TYPE_CHECKING:
    from kpi_transforms.warehouse.engine import Warehouse

# Everything else is imported by the subcommand that uses it: a run pays only for what it uses
# (pandas, pyarrow and the warehouse drivers are most of a small ingest's start-up).

# Commands that only read what earlier ingests loaded: they refuse a missing or empty warehouse
# instead of creating one and answering "no data".
READ_COMMANDS = ("kpi", "report", "scorecard", "audit", "breaches", "thread")


def _global_options(parser: argparse.ArgumentParser, *, after: bool) -> None:
    """The global options. After the command they default to SUPPRESS, so a value given
    before the command is not overwritten by the sub-parser's default."""
    default = {"default": argparse.SUPPRESS} if after else {}
    parser.add_argument("--config", help="YAML config file (default: $CHATKPI_CONFIG, else built-in defaults)", **default)
    parser.add_argument("--warehouse", help="SQLAlchemy URL (default: $CHATKPI_WAREHOUSE_URL, else duckdb:///warehouse/chatkpi.duckdb)", **default)
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr", **default)
    parser.add_argument("--gx", action="store_true",
                        help="judge every data-quality gate with Great Expectations itself (slower start; same verdicts)", **default)


class _Sub(argparse._SubParsersAction):
    """Every sub-command (and sub-sub-command) also accepts the global options."""

    def add_parser(self, name, **kwargs):
        parser = super().add_parser(name, **kwargs)
        _global_options(parser, after=True)
        parser.register("action", "parsers", _Sub)
        return parser


def _version() -> str:
    try:
        return importlib.metadata.version("chatkpi")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chatkpi", description="Chat logs and sales reports in; reply-pair facts and KPIs out.")
    parser.register("action", "parsers", _Sub)
    _global_options(parser, after=False)
    parser.add_argument("--version", action="version", version=f"chatkpi {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("init", help="create or upgrade the warehouse schema")

    ingest = sub.add_parser("ingest", help="load chat exports and message files (files or folders)")
    ingest.add_argument("paths", nargs="+", metavar="PATH")
    ingest.add_argument("--lake", help="folder for the Parquet copy of parsed messages (default: lake_dir of the config)")

    extract = sub.add_parser("extract", help="land new mail / objects of the configured extract: sources, then load them in one batch")
    extract.add_argument("--source", action="append", metavar="NAME", help="only this source (repeatable; default: all)")
    extract.add_argument("--no-load", action="store_true", help="only land the files; the next load commits their checkpoints")
    extract.add_argument("--lake", help="folder for the Parquet copy of parsed messages (default: lake_dir of the config)")
    extract.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                         help="wait this long for another extraction of the same source to end (default: 0, exit 2 at once)")
    extract.add_argument("--prune", action="store_true",
                         help="then delete extracted files loaded more than extract.keep_landed_days days ago (never unloaded ones)")
    extract.add_argument("--keep-days", type=int, metavar="DAYS", help="with --prune: this retention instead of extract.keep_landed_days")

    kpi = sub.add_parser("kpi", help="compute, store (replacing the period) and print a period's KPIs")
    kpi.add_argument("--period", required=True, help="2025-03 (a month) or 2025-Q1 (a quarter)")
    kpi.add_argument("--format", choices=["table", "csv", "json"], default="table",
                     help="table (durations in minutes), or csv / json (values in their stored unit)")

    report = sub.add_parser("report", help="print a report")
    report_sub = report.add_subparsers(dest="report", required=True, metavar="REPORT")
    durations = report_sub.add_parser("reply-durations", help="seed 000's reply-duration table for a period")
    durations.add_argument("--period", required=True, help="2025-03 (a month) or 2025-Q1 (a quarter)")
    durations.add_argument("--agent", help="one agent id (default: the whole team)")
    durations.add_argument("--format", choices=["table", "md", "html", "xlsx"], default="table")
    durations.add_argument("--out", help="write to this file instead of standard output")
    durations.add_argument("--lang", choices=["id", "en"], default="id", help="labels: Indonesian (default) or English")
    durations.add_argument("--show-contacts", action="store_true", help="show phone numbers and e-mail addresses (masked by default)")
    card_report = report_sub.add_parser("scorecard", help="scorecard(s) of a period (computed and stored first)")
    card_report.add_argument("--period", required=True, help="2025-03 (a month) or 2025-Q1 (a quarter)")
    card_report.add_argument("--template", help="one template (default: all)")
    card_report.add_argument("--templates", help="YAML file of scorecard templates (default: the shipped ones)")
    card_report.add_argument("--agent", help="one agent id (default: the team and every agent)")
    card_report.add_argument("--format", choices=["table", "md", "html", "xlsx"], default="table")
    card_report.add_argument("--out", help="write to this file instead of standard output")
    card_report.add_argument("--lang", choices=["id", "en"], default="id", help="labels: Indonesian (default) or English")
    card_report.add_argument("--show-contacts", action="store_true", help="show phone numbers and e-mail addresses (masked by default)")

    card = sub.add_parser("scorecard", help="compute, store (replacing the period) and print scorecards")
    card.add_argument("--period", required=True, help="2025-03 (a month) or 2025-Q1 (a quarter)")
    card.add_argument("--template", help="one template (default: all)")
    card.add_argument("--templates", help="YAML file of scorecard templates (default: the shipped ones)")
    card.add_argument("--agent", help="one agent id (default: the team and every agent)")
    card.add_argument("--lang", choices=["id", "en"], default="id", help="labels: Indonesian (default) or English")

    audit = sub.add_parser("audit", help="audit sample and review sheet (seed 001)")
    audit_sub = audit.add_subparsers(dest="audit", required=True, metavar="ACTION")
    audit_sample = audit_sub.add_parser("sample", help="draw (or reuse) the period's sample; --out writes the review sheet")
    audit_sample.add_argument("--period", required=True, help="2025-Q1 (a quarter) or 2025-03 (a month)")
    audit_sample.add_argument("--resample", action="store_true", help="draw again instead of reusing the stored sample")
    audit_sample.add_argument("--channels", default="whatsapp,email", help="audited channels, comma-separated (default: whatsapp,email)")
    audit_sample.add_argument("--out", help="write the review sheet (.xlsx) here")
    audit_sample.add_argument("--lang", choices=["id", "en"], default="id", help="sheet labels: Indonesian (default) or English")
    audit_import = audit_sub.add_parser("import", help="import a filled review sheet into audit.validation")
    audit_import.add_argument("file", metavar="FILE.xlsx")
    audit_import.add_argument("--period", help="reject the sheet unless it is this period's")

    breaches = sub.add_parser("breaches", help="queues past their 1-working-day deadline and still open, then late answers")
    when = breaches.add_mutually_exclusive_group()
    when.add_argument("--period", help="queues asked in this period (2025-03 or 2025-Q1)")
    when.add_argument("--now", action="store_true", help="every open queue and the late answers of the last 7 days (default)")
    breaches.add_argument("--as-of", help="the clock to judge by (ISO 8601, local time without an offset; default: now)")
    breaches.add_argument("--agent", help="one agent id (default: everyone)")
    breaches.add_argument("--format", choices=["table", "csv", "json", "md"], default="table")
    breaches.add_argument("--lang", choices=["id", "en"], default="id", help="labels: Indonesian (default) or English")

    thread = sub.add_parser("thread", help="a thread's transcript with its customer queues and answers marked")
    thread.add_argument("id", metavar="ID", help="thread_id, or the pair_id of one of its queues")
    thread.add_argument("--lang", choices=["id", "en"], default="id", help="labels: Indonesian (default) or English")
    intents = sub.add_parser("intents", help="the intent model: train, evaluate, list queues to review (issue 14)")
    intents_sub = intents.add_subparsers(dest="intents", required=True, metavar="ACTION")
    intents_train = intents_sub.add_parser("train", help="train on the shipped corpus + this installation's labels; store as the active model")
    intents_train.add_argument("--if-changed", action="store_true", help="skip when the labels are those of the active model")
    intents_train.add_argument("--no-rebuild", action="store_true", help="do not re-classify the stored pairs now")
    intents_eval = intents_sub.add_parser("evaluate", help="per-class precision / recall of the active model on the dev split")
    intents_eval.add_argument("--labels", metavar="FILE.csv", help="also on this labelled file (columns text, intent)")
    intents_review = intents_sub.add_parser("review", help="list the stored queues whose intent confidence is low")
    intents_review.add_argument("--below", type=float, default=0.6, help="confidence threshold (default 0.6)")
    intents_review.add_argument("--limit", type=int, help="at most this many queues")

    demo = sub.add_parser("demo", help="the main job on bundled sample data (embedded DuckDB)")
    demo.add_argument("--workdir", default=".", help="where warehouse/, lake/ and reports/ are written (default: .)")
    demo.add_argument("--cli", action="store_true", help="run the library functions directly instead of through the Airflow DAGs")
    return parser


def run(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    if args.gx:
        os.environ["CHATKPI_DQ_ENGINE"] = "gx"  # read by kpi_transforms.quality.gate
    if args.command == "demo":
        from kpi_transforms.demo import run_demo

        return run_demo(args.workdir, through_airflow=not args.cli)

    from kpi_transforms.warehouse.engine import Warehouse, redact

    config: Config = load_config(args.config)
    if getattr(args, "period", None):
        parse_period(args.period)  # a malformed period is named before the warehouse is looked at
    reads_only = args.command in READ_COMMANDS or (args.command == "intents" and args.intents == "review")
    if reads_only:
        _refuse_missing(args.warehouse)
    warehouse = Warehouse(args.warehouse)
    if reads_only:
        _refuse_empty(warehouse)
        if getattr(args, "agent", None):
            _refuse_unknown_agent(warehouse, config, args.agent)
    if args.command == "init":
        applied = warehouse.init()
        print(f"warehouse {redact(warehouse.url)}: " + (f"applied {', '.join(applied)}" if applied else "schema up to date"))
        return 0
    if args.command == "ingest":
        from kpi_transforms.pipeline.ingest import ingest_paths
        from kpi_transforms.present.console import IngestProgress, print_ingest

        with IngestProgress() as progress:
            report = ingest_paths(args.paths, config, warehouse, lake_dir=args.lake, on_parsed=progress.parsed)
        print_ingest(report)
        return 0
    if args.command == "extract":
        from kpi_transforms.pipeline.extraction import describe, extract_and_load
        from kpi_transforms.present.console import print_ingest

        if args.keep_days is not None and (not args.prune or args.keep_days < 0):
            raise ConfigError("--keep-days needs --prune and a number of days >= 0")
        outcome = extract_and_load(config, warehouse, only=args.source, load=not args.no_load, lake_dir=args.lake,
                                   lock_wait=args.wait, prune=args.prune, keep_days=args.keep_days)
        print("\n".join(describe(s) for s in outcome.summaries))
        if outcome.report is not None:
            print_ingest(outcome.report)
            print(f"{outcome.checkpoints_committed} checkpoint proposal(s) committed with batch {outcome.report.batch_id}")
        if outcome.pruned is not None:
            print(outcome.pruned.line())
        for error in outcome.errors:
            print(f"chatkpi: error: {error}", file=sys.stderr)
        return 1 if outcome.errors else 0
    if args.command == "kpi":
        from kpi_transforms.pipeline.kpis import compute_period_kpis
        from kpi_transforms.present.console import render_kpis

        frame = compute_period_kpis(warehouse, config, args.period)
        print(render_kpis(frame, fmt=args.format))
        return 0
    if args.command == "scorecard":
        from kpi_transforms.pipeline.scorecards import compute_scorecards
        from kpi_transforms.present.scorecards import render_scorecards

        result = compute_scorecards(warehouse, config, args.period, template=args.template, agent_id=args.agent, templates_path=args.templates)
        print(printable_lines(render_scorecards(result, lang=args.lang)))
        return 0
    if args.command == "breaches":
        from kpi_transforms.pipeline.breaches import find_breaches, parse_as_of
        from kpi_transforms.present.breaches import render_breaches

        now = parse_as_of(args.as_of, config.timezone) if args.as_of else None
        period = parse_period(args.period) if args.period else None
        result = find_breaches(warehouse, now=now, period=period, agent_id=args.agent)
        print(printable_lines(render_breaches(result, args.format, args.lang, config.timezone)))
        return 0
    if args.command == "thread":
        from kpi_transforms.pipeline.breaches import thread_transcript
        from kpi_transforms.present.breaches import render_transcript

        print(printable_lines(render_transcript(thread_transcript(warehouse, args.id), args.lang)))
        return 0
    if args.command == "audit":
        from kpi_transforms.pipeline import audit
        from kpi_transforms.present.console import render_sample

        if args.audit == "sample":
            channels = [c.strip() for c in args.channels.split(",") if c.strip()]
            sampled = audit.sample_threads(warehouse, args.period, resample=args.resample, channels=channels)
            print(render_sample(sampled))
            if args.out:
                print(f"wrote {audit.write_review_sheet(warehouse, sampled.period, args.out, lang=args.lang)}")
            return 0
        print(printable_lines(audit.import_review_sheet(warehouse, args.file, expect_period=args.period).summary()))
        return 0
    if args.command == "intents":
        from kpi_transforms.pipeline import intents as intent_cmd

        warehouse.init()  # train and evaluate also work on a new warehouse (the shipped model)
        if args.intents == "train":
            print(intent_cmd.train_intent_model(warehouse, config, only_if_changed=args.if_changed, rebuild=not args.no_rebuild).summary())
        elif args.intents == "evaluate":
            print(intent_cmd.evaluate_intent_model(warehouse, intent_cmd.read_labelled_file(args.labels) if args.labels else None))
        else:
            print(intent_cmd.render_review(intent_cmd.review_queue(warehouse, args.below, args.limit), args.below))
        return 0
    if args.command == "report" and (args.report == "scorecard" or args.format in ("html", "xlsx") or args.lang == "en"):
        from kpi_transforms.pipeline.reports import write_report

        print(printable_lines(write_report(warehouse, config, args.report, args.period, args.format, args.out, agent_id=args.agent,
                           template=getattr(args, "template", None), lang=args.lang, templates_path=getattr(args, "templates", None),
                           show_contacts=args.show_contacts)))
        return 0
    if args.command == "report" and args.report == "reply-durations":
        from kpi_transforms.pipeline.reports import reply_duration_report

        text = reply_duration_report(warehouse, config, args.period, agent_id=args.agent, fmt=args.format,
                                     show_contacts=args.show_contacts)
        if args.out:
            with open(args.out, "w", encoding="utf-8") as handle:
                handle.write(text + "\n")
            print(f"wrote {args.out}")
        else:
            print(printable_lines(text))
        return 0
    raise ChatKpiError(f"unknown command {args.command}")


def _refuse_missing(url_text: str | None) -> None:
    """A DuckDB file that does not exist is a mistyped path, not an empty warehouse: refuse
    before anything creates it."""
    from kpi_transforms.warehouse.engine import resolve_url

    url = resolve_url(url_text)
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        return  # Warehouse() says what is wrong with it
    if parsed.get_backend_name() == "duckdb" and parsed.database and parsed.database != ":memory:":
        if not Path(parsed.database).expanduser().is_file():
            raise ChatKpiError(f"no warehouse at {parsed.database}: check --warehouse, or load data first (chatkpi ingest PATH)")


def _refuse_empty(warehouse: Warehouse) -> None:
    """A warehouse without a single loaded file has nothing to report."""
    from kpi_transforms.warehouse.engine import redact

    loaded = 0
    if warehouse.table_exists("audit.file_manifest"):
        loaded = int(warehouse.scalar("select count(*) from audit.file_manifest") or 0)
    if not loaded:
        raise ChatKpiError(f"warehouse {redact(warehouse.url)} holds no loaded files: run chatkpi ingest PATH first (or check --warehouse)")


def _refuse_unknown_agent(warehouse: Warehouse, config: Config, agent: str) -> None:
    """An --agent that is neither configured nor seen in the facts is a typo: exit 2 naming the known ones."""
    known = {a.id for a in config.agents}
    if warehouse.table_exists("marts.fct_reply_pair"):
        seen = warehouse.read_df(
            "select distinct agent_id from marts.fct_reply_pair where agent_id is not null"
            " union select distinct primary_agent_id from marts.fct_thread where primary_agent_id is not null")
        known |= set(seen.iloc[:, 0].astype(str))
    if agent not in known:
        raise ChatKpiError(f"unknown agent {agent!r} (known: {', '.join(sorted(known)) or 'none'})")


EXIT_BUG = 70  # EX_SOFTWARE: an internal error, reported with its traceback


def _root_database_error(exc: BaseException) -> sa.exc.DBAPIError | None:
    """The first database error in the chain of ``exc``: a backend terminated mid-batch
    surfaces as a ``PendingRollbackError`` raised while cleaning up, which hides the cause."""
    found = None
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, sa.exc.DBAPIError):
            found = exc
        exc = exc.__cause__ or exc.__context__
    return found


def _one_line(text: object) -> str:
    return printable(" ".join(str(text).split()))


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return run(argv)
    except (ConfigError, ChatKpiError, FileNotFoundError) as exc:
        print(f"chatkpi: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("chatkpi: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `chatkpi … | head`: the reader left; not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except sa.exc.SQLAlchemyError as exc:
        cause = _root_database_error(exc)
        if cause is not None and isinstance(cause, (sa.exc.OperationalError, sa.exc.InterfaceError)):
            # the connection was lost or the server went away: nothing was committed
            orig = getattr(cause, "orig", None) or cause
            print(f"chatkpi: error: warehouse connection lost, the batch was rolled back: {_one_line(orig)[:300]}", file=sys.stderr)
            return 2
        traceback.print_exc()
        print(f"chatkpi: internal error (a bug, please report it with the traceback above): {_one_line(exc)[:300]}", file=sys.stderr)
        return EXIT_BUG
    except Exception as exc:  # noqa: BLE001 - anything else is a bug, and says so
        traceback.print_exc()
        print(f"chatkpi: internal error (a bug, please report it with the traceback above): {_one_line(exc)[:300]}", file=sys.stderr)
        return EXIT_BUG


if __name__ == "__main__":
    sys.exit(main())
