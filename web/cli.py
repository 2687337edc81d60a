"""The `releasedesk` command line (see README: init, serve, worker, deploy, user, demo, audit, timers)."""
from __future__ import annotations

import argparse
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path

from engine import SYSTEM, DeploymentRejected, ReleaseDesk, load_settings

from . import cli_auth


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
            if getattr(args, "draft", False):  # reviewed and published by someone else in the designer
                from engine.deployment import deploy
                files = [(Path(f).name, Path(f).read_bytes()) for f in args.files]
                result = deploy(s, files, SYSTEM, desk.clock(), source="cli", draft=True)
            else:
                result = desk.deploy_files(s, [Path(f) for f in args.files])
    except DeploymentRejected as exc:
        print_problems(exc.problems)
        return 1
    for d in result["definitions"]:
        print(f"{d['key']}: version {d['version']}"
              + (" (new draft)" if d.get("status") == "draft" else " (new)" if d["changed"] else " (unchanged)"))
    return 0


def cmd_audit_verify(args) -> int:
    result = _desk().verify_audit(args.instance, write_checkpoint=not args.no_checkpoint,
                                  exported_file=args.exported)
    print(result)
    return 0 if result.ok else 1


def cmd_audit_keygen(args) -> int:
    from engine.audit_keys import demo_key_path, generate_key_file
    settings = load_settings()
    path = Path(args.out) if args.out else demo_key_path(settings)
    if path.exists():
        print(f"releasedesk: {path} already exists; choose another --out (keys are never overwritten)",
              file=sys.stderr)
        return 1
    key = generate_key_file(path)
    print(f"audit signing key written to {path} (readable by its owner only)")
    print(f"key id and public key (publish this line): {key.public_line()}")
    print(f"use it: RELEASEDESK_AUDIT_SIGNING_KEY_FILE={path.resolve()}")
    return 0


def cmd_audit_public_key(args) -> int:
    from engine.audit_keys import public_b64, require_signing_key, trusted_keys
    settings = load_settings()
    if args.all:
        for kid, public in trusted_keys(settings).items():
            print(f"{kid} {public_b64(public)}")
        return 0
    key = require_signing_key(settings)
    print(key.public_line())
    return 0


def cmd_audit_checkpoint(args) -> int:
    cp = _desk().audit.checkpoint("manual", always=True)
    print(f"checkpoint {cp['id']} signed by {cp['key']} over {len(cp['heads'])} changed stream head(s)"
          if cp else "no checkpoint written")
    return 0


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


def run_worker(desk: ReleaseDesk, interval: float, stop: threading.Event, verbose: bool = False) -> None:
    """Fire due timers every `interval` seconds until `stop` is set. Errors are logged, not fatal."""
    from engine.notifications import deliver

    while not stop.is_set():
        try:
            for instance_id, activities in desk.fire_due_timers():
                if verbose:
                    print(f"instance {instance_id}: fired {', '.join(activities)}", flush=True)
            desk.checkpoint_audit_if_due()
        except Exception as exc:  # keep the worker alive; the next round retries
            print(f"timer worker: {exc}", file=sys.stderr)
        try:
            deliver(desk)  # due/overdue notices, then email from the outbox
        except Exception as exc:
            print(f"notification worker: {exc}", file=sys.stderr)
        try:
            desk.purge_media_quarantine()
        except Exception as exc:
            print(f"timer worker: media quarantine: {exc}", file=sys.stderr)
        stop.wait(interval)


def cmd_worker(args) -> int:
    desk = _desk()
    stop = threading.Event()
    print(f"timer worker: checking every {args.interval}s (Ctrl+C stops)", flush=True)
    try:
        run_worker(desk, args.interval, stop, verbose=True)
    except KeyboardInterrupt:
        stop.set()
    return 0


def cmd_serve(args) -> int:
    from web import serving
    from web.app import create_app

    settings = load_settings(demo=True) if getattr(args, "demo", False) else load_settings()
    limits = {"threads": args.threads, "connection_limit": args.connection_limit, "idle_timeout": args.idle_timeout}
    workers = getattr(args, "workers", 1)
    if workers > 1:  # gunicorn forks the web processes; nothing here may hold a database connection
        desk = ReleaseDesk(settings)
        desk.migrate()
        desk.dispose()
        timers = None if args.no_worker else serving.start_timer_process(settings, args.worker_interval)
        print(f"Release Desk on http://{args.host}:{args.port}/ ({workers} processes; Ctrl+C stops)", flush=True)
        try:
            serving.serve_gunicorn(lambda: create_app(settings), args.host, args.port, workers, **limits)
        finally:
            if timers is not None:
                timers.terminate()
        return 0
    app = create_app(settings)
    desk = app.extensions["releasedesk"]
    desk.migrate()
    stop = threading.Event()
    if not args.no_worker:
        threading.Thread(target=run_worker, args=(desk, args.worker_interval, stop), daemon=True).start()
    print(f"Release Desk on http://{args.host}:{args.port}/  (Ctrl+C stops)", flush=True)
    try:
        # Uploads stream through: waitress buffers a body to a temporary file (not memory) and must
        # accept the largest media upload the settings allow.
        serving.serve_waitress(app, args.host, args.port, **limits,
                               max_request_body_size=max(settings.media_max_bytes, settings.max_upload_bytes)
                               + 1024 * 1024)
    finally:
        stop.set()
    return 0


def cmd_migrate(args) -> int:
    """Move running cases to a newer version, one case per transaction, printing progress; safe to
    interrupt and run again (it carries on with the cases still on the old version)."""
    from engine import Actor
    from engine.migration import migrate_cases

    desk = _desk()
    actor = Actor(cli_auth.operator(), frozenset({"manager"}))
    to_version = args.to or args.source + 1

    def progress(p):
        if p["done"] % args.every == 0 or p["done"] == p["total"]:
            print(f"{p['done']}/{p['total']}: {p['migrated']} moved, {p['refused']} refused, {p['failed']} failed",
                  flush=True)
    result = migrate_cases(desk, args.key, args.source, to_version, actor, progress=progress)
    for r in result["refused"]:
        print(f"refused {r['businessKey']} (case {r['id']}): {r['reason']}")
    for r in result["failed"]:
        print(f"failed case {r['id']}: {r['reason']} (run again to retry)", file=sys.stderr)
    print(f"{len(result['migrated'])} case(s) moved from version {args.source} to {to_version}; "
          f"{len(result['refused'])} refused; {len(result['failed'])} failed")
    return 1 if result["failed"] else 0


def cmd_demo(args) -> int:
    from web.demo import seed

    settings = load_settings(demo=True)
    desk = ReleaseDesk(settings)
    seed(desk, out=sys.stdout)
    desk.audit.checkpoint("demo")  # a demo key is made in the instance folder; its record is anchored
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
        p.add_argument("--workers", type=int, default=1,
                       help="web processes; above 1 runs gunicorn (Linux/Unix), 1 runs waitress")
        p.add_argument("--threads", type=int, default=8, help="request threads per process")
        p.add_argument("--connection-limit", type=int, default=1000,
                       help="open client connections per process, idle keep-alive ones included")
        p.add_argument("--idle-timeout", type=int, default=30, help="seconds before an idle connection is closed")

    p = sub.add_parser("serve", help="web inbox and REST API on waitress, with the timer worker")
    add_serve_options(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("worker", help="the timer worker alone")
    p.add_argument("--interval", type=float, default=30.0)
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("migrate", help="move running cases of a pathway to a newer version, case by case")
    p.add_argument("key")
    p.add_argument("--from", dest="source", type=int, required=True, help="the version the cases are on")
    p.add_argument("--to", type=int, help="the version to move to (default: the next one)")
    p.add_argument("--every", type=int, default=50, help="print progress every N cases")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("deploy", help="validate and deploy BPMN/DMN files")
    p.add_argument("files", nargs="+")
    p.add_argument("--draft", action="store_true", help="store as drafts, live once someone else publishes them")
    p.set_defaults(func=cmd_deploy)

    cli_auth.add_commands(sub)  # user add/groups/password/disable/enable, token add/list/revoke

    p = sub.add_parser("demo", help="demo users per role and sample cases in every pathway")
    p.add_argument("--serve", action="store_true", help="then serve the web app")
    add_serve_options(p)
    p.set_defaults(func=cmd_demo)

    audit = sub.add_parser("audit", help="audit trail").add_subparsers(dest="audit_command", required=True)
    p = audit.add_parser("verify", help="check the hash chains, signed checkpoints and exported copy")
    p.add_argument("--instance", type=int)
    p.add_argument("--no-checkpoint", action="store_true", help="only check; do not sign a checkpoint after")
    p.add_argument("--exported", help="the exported checkpoints to compare with (default: audit_export_file)")
    p.set_defaults(func=cmd_audit_verify)
    p = audit.add_parser("keygen", help="create an Ed25519 key for signing audit checkpoints")
    p.add_argument("--out", help="file to create (default: audit-signing.key in the instance folder)")
    p.set_defaults(func=cmd_audit_keygen)
    p = audit.add_parser("public-key", help="print the signing key's id and public key, to publish")
    p.add_argument("--all", action="store_true", help="every trusted key (after rotations)")
    p.set_defaults(func=cmd_audit_public_key)
    p = audit.add_parser("checkpoint", help="sign and export an audit checkpoint now")
    p.set_defaults(func=cmd_audit_checkpoint)

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
