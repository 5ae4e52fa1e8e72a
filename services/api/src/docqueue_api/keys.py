"""`docqueue-keys`: create and revoke API keys (stored hashed in Redis), and set how long a
tenant's tasks may be kept.

The key goes to the Redis every docqueue process uses (DOCQUEUE_REDIS_URL, else REDIS_URL); the
tool says which on stderr, so a key written to the wrong Redis is seen at once, not as a 401.
"""

import argparse
import sys

import redis

from docqueue import names
from docqueue.auth import Scope, generate_api_key, hash_api_key, revoke_api_key, store_api_key
from docqueue.jobs import keys
from docqueue.redis_url import describe_redis_url, redis_client
from docqueue.settings import Settings, load_settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="docqueue-keys", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create a key and print it (shown only once)")
    create.add_argument("--tenant", required=True)
    create.add_argument(
        "--scopes", default="submit,read", help="comma-separated: submit, read, admin (default: submit,read)"
    )
    create.add_argument("--name", default="", help="a label for the key")
    create.add_argument("--key", help="use this key instead of generating one (e.g. a fixed dev key)")
    revoke = commands.add_parser("revoke", help="revoke a key")
    revoke.add_argument("key", help="the key, or its sha256 digest")
    retention = commands.add_parser(
        "retention",
        help="the most seconds a tenant's tasks are kept once they ended (shorter than the deployment's)",
    )
    retention.add_argument("--tenant", required=True)
    limit = retention.add_mutually_exclusive_group(required=True)
    limit.add_argument("--max-s", type=int, help="seconds, at least 60")
    limit.add_argument("--clear", action="store_true", help="back to the deployment's retention")
    args = parser.parse_args(argv)

    settings = load_settings(Settings, "docqueue-keys")
    client: redis.Redis = redis_client(settings.redis_url, settings.sentinel_password)
    where = describe_redis_url(settings.redis_url)
    if args.command == "create":
        scopes = {Scope(scope.strip()) for scope in args.scopes.split(",") if scope.strip()}
        key = args.key or generate_api_key()
        unused = not holds_docqueue_data(client)
        store_api_key(client, key, args.tenant, scopes, args.name)
        # stdout holds the key alone, so `KEY=$(docqueue-keys create ...)` works.
        print(key)
        print(f"docqueue-keys: key for tenant {args.tenant!r} written to Redis {where}", file=sys.stderr)
        if unused:
            print(
                "docqueue-keys: warning: this Redis holds no other docqueue data, so no docqueue "
                "stack seems to use it; set DOCQUEUE_REDIS_URL (or REDIS_URL) to the stack's Redis",
                file=sys.stderr,
            )
    elif args.command == "retention":
        set_tenant_retention(client, args.tenant, None if args.clear else args.max_s, settings.retention_s)
        print(f"docqueue-keys: retention for tenant {args.tenant!r} set in Redis {where}", file=sys.stderr)
    else:
        digest = args.key if len(args.key) == 64 else hash_api_key(args.key)
        if not revoke_api_key(client, digest):
            sys.exit(f"docqueue-keys: no such key in Redis {where}")
        print(f"docqueue-keys: key revoked in Redis {where}", file=sys.stderr)


def set_tenant_retention(client: redis.Redis, tenant: str, max_s: int | None, deployment_s: int) -> None:
    """Uploads of `tenant` are then kept at most `max_s` after they end (their `ttl_s` may be
    shorter); None removes the tenant's own limit. Tasks already created keep theirs."""
    if max_s is None:
        client.hdel(keys.TENANT_MAX_RETENTION, tenant)
        return
    if not max_s >= 60:
        sys.exit("docqueue-keys: --max-s must be at least 60 seconds")
    if max_s >= deployment_s:
        print(
            f"docqueue-keys: note: {max_s} s is not shorter than the deployment's retention "
            f"({deployment_s} s), which stays the limit",
            file=sys.stderr,
        )
    client.hset(keys.TENANT_MAX_RETENTION, tenant, str(max_s))


def holds_docqueue_data(client: redis.Redis) -> bool:
    """Any docqueue key, or a worker's binding of the documents queue (a new, idle stack)."""
    if client.exists(f"_kombu.binding.{names.DOCUMENTS_QUEUE}"):
        return True
    return next(iter(client.scan_iter(match=f"{keys.PREFIX}*", count=1000)), None) is not None


if __name__ == "__main__":
    main()
