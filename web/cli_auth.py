"""`releasedesk user ...` and `releasedesk token ...`: people and integrations.

Every change is recorded in the audit trail as done by `cli:<operating-system user>`, since whoever
runs these commands has the server's configuration, not a Release Desk account."""
from __future__ import annotations

import functools
import getpass
import sys

from engine import EngineError, ReleaseDesk, load_settings
from engine.tokens import create_token, list_tokens, revoke_token
from engine.users import GROUPS, create_user, set_active, set_groups, set_password
from engine.web_sessions import end_all_for


def _desk() -> ReleaseDesk:
    desk = ReleaseDesk(load_settings())
    desk.migrate()
    return desk


def operator() -> str:
    try:
        return f"cli:{getpass.getuser()}"[:80]
    except Exception:  # no login name (containers): still say it came from the command line
        return "cli"


def _fail(exc: EngineError) -> int:
    details = "; ".join(f"{k}: {v}" for k, v in (exc.details or {}).items())
    print(f"error: {exc.message}" + (f" ({details})" if details else ""), file=sys.stderr)
    return 1


def _reports_engine_errors(command):
    """A command whose engine call is refused prints `error: ...` and exits 1, no traceback."""
    @functools.wraps(command)
    def run(args) -> int:
        try:
            return command(args)
        except EngineError as exc:
            return _fail(exc)
    return run


def _read_password(args) -> str | None:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    password = getpass.getpass("Password (at least 12 characters; three random words work well): ")
    if password != getpass.getpass("Again: "):
        print("passwords differ", file=sys.stderr)
        return None
    return password


@_reports_engine_errors
def cmd_user_add(args) -> int:
    desk = _desk()
    password = None if args.no_password else _read_password(args)
    if password is None and not args.no_password:
        return 1
    with desk.transaction() as s:
        user = create_user(s, args.name, password, args.group, args.display_name or "", audit_by=operator())
        name = user.username
    print(f"user {name} created in {', '.join(sorted(set(args.group)))}")
    return 0


@_reports_engine_errors
def cmd_user_groups(args) -> int:
    desk = _desk()
    with desk.transaction() as s:
        user = set_groups(s, args.name, args.group, audit_by=operator())
        print(f"user {user.username}: {', '.join(user.group_names)}")
    return 0


@_reports_engine_errors
def cmd_user_password(args) -> int:
    desk = _desk()
    password = _read_password(args)
    if password is None:
        return 1
    with desk.transaction() as s:
        user = set_password(s, args.name, password, audit_by=operator())
        end_all_for(s, user.username, desk.clock())
    print(f"password changed for {args.name}; their signed-in sessions were ended")
    return 0


@_reports_engine_errors
def cmd_user_active(args) -> int:
    desk = _desk()
    with desk.transaction() as s:
        user = set_active(s, args.name, args.user_command == "enable", audit_by=operator())
        if not user.active:
            end_all_for(s, user.username, desk.clock())
    print(f"user {args.name} {'enabled' if args.user_command == 'enable' else 'disabled'}")
    return 0


@_reports_engine_errors
def cmd_token_add(args) -> int:
    desk = _desk()
    with desk.transaction() as s:
        token = create_token(s, args.name, args.group, by=operator(), at=desk.clock())
    print(f"token {args.name} for {', '.join(sorted(set(args.group)))} (shown once; store it now):")
    print(token)
    return 0


def cmd_token_list(args) -> int:
    desk = _desk()
    with desk.read() as s:
        tokens = list_tokens(s)
    if not tokens:
        print("no tokens")
    for t in tokens:
        state = f"revoked {t['revokedAt']:%Y-%m-%d %H:%M}" if t["revokedAt"] else "active"
        print(f"{t['name']:<24} {t['hint']}…  {','.join(t['groups']):<24} created {t['createdAt']:%Y-%m-%d} "
              f"by {t['createdBy']}  {state}")
    return 0


@_reports_engine_errors
def cmd_token_revoke(args) -> int:
    desk = _desk()
    with desk.transaction() as s:
        revoke_token(s, args.name, by=operator(), at=desk.clock())
    print(f"token {args.name} revoked")
    return 0


def add_commands(sub) -> None:
    user = sub.add_parser("user", help="manage users").add_subparsers(dest="user_command", required=True)
    p = user.add_parser("add", help="create a user")
    p.add_argument("name")
    p.add_argument("--group", action="append", required=True, choices=GROUPS)
    p.add_argument("--display-name")
    p.add_argument("--password-stdin", action="store_true")
    p.add_argument("--no-password", action="store_true", help="signs in only through OpenID Connect")
    p.set_defaults(func=cmd_user_add)
    p = user.add_parser("groups", help="replace a user's groups")
    p.add_argument("name")
    p.add_argument("--group", action="append", required=True, choices=GROUPS)
    p.set_defaults(func=cmd_user_groups)
    p = user.add_parser("password", help="set a new password (ends the user's sessions)")
    p.add_argument("name")
    p.add_argument("--password-stdin", action="store_true")
    p.set_defaults(func=cmd_user_password)
    for verb in ("disable", "enable"):
        p = user.add_parser(verb, help=f"{verb} sign-in for a user")
        p.add_argument("name")
        p.set_defaults(func=cmd_user_active)

    token = sub.add_parser("token", help="API tokens for integrations").add_subparsers(
        dest="token_command", required=True)
    p = token.add_parser("add", help="create a token (printed once)")
    p.add_argument("name", help="the client, e.g. newsroom-feed")
    p.add_argument("--group", action="append", required=True, choices=GROUPS)
    p.set_defaults(func=cmd_token_add)
    token.add_parser("list", help="list tokens (never the tokens themselves)").set_defaults(func=cmd_token_list)
    p = token.add_parser("revoke", help="revoke a token at once")
    p.add_argument("name")
    p.set_defaults(func=cmd_token_revoke)
