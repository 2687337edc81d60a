"""The `releasedesk` command line (see README: init, serve, worker, deploy, user, demo, audit, timers)."""
from __future__ import annotations

import argparse
import getpass
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path

from engine import DeploymentRejected, EngineError, ReleaseDesk, load_settings
from engine.audit import verify
from engine.users import GROUPS, create_user


def _desk(**overrides) -> ReleaseDesk:
    return ReleaseDesk(load_settings(**overrides))


def cmd_init(args) -> int:
    desk = _desk()
    desk.migrate()
    with desk.transaction() as s:
        result = desk.deploy_workflows(s)
    for d in result["definitions"]:
        print(f"{d['key']}: version {d['version']}" + (" (new)" if d["changed"] else " (unchanged)"))
    return 0


def print_problems(problems) -> None:
    for p in problems:
        where = f"{p.get('file') or '-'}:{p.get('line') or '-'}"
        element = f" [{p['element']}]" if p.get("element") else ""
        print(f"{where}{element}: {p['message']}", file=sys.stderr)


def cmd_deploy(args) -> int:
    desk = _desk()
    desk.migrate()
    missing = [f for f in args.files if not Path(f).is_file()]
    if missing:
        print_problems([{"file": f, "message": "no such file"} for f in missing])
        return 1
    try:
        with desk.transaction() as s:
            result = desk.deploy_files(s, [Path(f) for f in args.files])
    except DeploymentRejected as exc:
        print_problems(exc.problems)
        return 1
    for d in result["definitions"]:
        print(f"{d['key']}: version {d['version']}" + (" (new)" if d["changed"] else " (unchanged)"))
    return 0


def cmd_user_add(args) -> int:
    desk = _desk()
    desk.migrate()
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Again: "):
            print("passwords differ", file=sys.stderr)
            return 1
    try:
        with desk.transaction() as s:
            create_user(s, args.name, password, args.group)
    except EngineError as exc:
        print(f"error: {exc.message} {exc.details or ''}".strip(), file=sys.stderr)
        return 1
    print(f"user {args.name} created in {', '.join(sorted(set(args.group)))}")
    return 0


def cmd_audit_verify(args) -> int:
    desk = _desk()
    with desk.transaction() as s:
        result = verify(s, args.instance)
    print(result)
    return 0 if result.ok else 1


def _parse_now(text: str | None) -> datetime:
    if not text:
        return datetime.now(timezone.utc)
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def cmd_timers_run(args) -> int:
    desk = _desk()
    fired = desk.fire_due_timers(_parse_now(args.now))
    for instance_id, activities in fired:
        print(f"instance {instance_id}: fired {', '.join(activities)}")
    print(f"{len(fired)} instance(s) had due timers")
    return 0


def run_worker(desk: ReleaseDesk, interval: float, stop: threading.Event) -> None:
    """Fire due timers every `interval` seconds until `stop` is set. Errors are logged, not fatal."""
    while not stop.is_set():
        try:
            desk.fire_due_timers()
        except Exception as exc:  # keep the worker alive; the next round retries
            print(f"timer worker: {exc}", file=sys.stderr)
        stop.wait(interval)


def cmd_worker(args) -> int:
    desk = _desk()
    stop = threading.Event()
    print(f"timer worker: checking every {args.interval}s (Ctrl+C stops)")
    try:
        run_worker(desk, args.interval, stop)
    except KeyboardInterrupt:
        stop.set()
    return 0


def cmd_serve(args) -> int:
    from waitress import serve

    from web.app import create_app

    settings = load_settings(demo=True) if getattr(args, "demo", False) else load_settings()
    app = create_app(settings)
    desk = app.extensions["releasedesk"]
    desk.migrate()
    stop = threading.Event()
    if not args.no_worker:
        threading.Thread(target=run_worker, args=(desk, args.worker_interval, stop), daemon=True).start()
    print(f"Release Desk on http://{args.host}:{args.port}/  (Ctrl+C stops)")
    try:
        # Uploads stream through: waitress buffers a body to a temporary file, not memory, and must
        # accept the largest media upload the settings allow.
        serve(app, host=args.host, port=args.port, threads=8, ident="releasedesk",
              max_request_body_size=max(settings.media_max_bytes, settings.max_upload_bytes) + 1024 * 1024)
    finally:
        stop.set()
    return 0


def cmd_demo(args) -> int:
    from web.demo import seed

    settings = load_settings(demo=True)
    desk = ReleaseDesk(settings)
    seed(desk, out=sys.stdout)
    if args.serve:
        args.demo = True
        return cmd_serve(args)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="releasedesk", description="Release Desk: images and footage releases")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("init", help="create or migrate the database and deploy workflows/").set_defaults(func=cmd_init)

    def add_serve_options(p):
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=5000)
        p.add_argument("--no-worker", action="store_true", help="do not run the timer worker in-process")
        p.add_argument("--worker-interval", type=float, default=30.0)

    p = sub.add_parser("serve", help="web inbox and REST API on waitress, with the timer worker")
    add_serve_options(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("worker", help="the timer worker alone")
    p.add_argument("--interval", type=float, default=30.0)
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("deploy", help="validate and deploy BPMN/DMN files")
    p.add_argument("files", nargs="+")
    p.set_defaults(func=cmd_deploy)

    user = sub.add_parser("user", help="manage users").add_subparsers(dest="user_command", required=True)
    p = user.add_parser("add", help="create a user")
    p.add_argument("name")
    p.add_argument("--group", action="append", required=True, choices=GROUPS)
    p.add_argument("--password-stdin", action="store_true")
    p.set_defaults(func=cmd_user_add)

    p = sub.add_parser("demo", help="demo users per role and sample cases in every pathway")
    p.add_argument("--serve", action="store_true", help="then serve the web app")
    add_serve_options(p)
    p.set_defaults(func=cmd_demo)

    audit = sub.add_parser("audit", help="audit trail").add_subparsers(dest="audit_command", required=True)
    p = audit.add_parser("verify", help="check the audit hash chain")
    p.add_argument("--instance", type=int)
    p.set_defaults(func=cmd_audit_verify)

    timers = sub.add_parser("timers", help="timers").add_subparsers(dest="timers_command", required=True)
    p = timers.add_parser("run", help="fire every timer due at --now once, then exit")
    p.add_argument("--now", help="ISO 8601 date-time (default: now)")
    p.set_defaults(func=cmd_timers_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except (RuntimeError, ValueError, OSError) as exc:  # configuration problems: say so, no traceback
        print(f"releasedesk: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
