"""`docqueue-keys`: create and revoke API keys (stored hashed in Redis)."""

import argparse
import sys

import redis

from docqueue.auth import Scope, generate_api_key, hash_api_key, revoke_api_key, store_api_key
from docqueue.settings import Settings


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
    args = parser.parse_args(argv)

    client: redis.Redis = redis.Redis.from_url(Settings().redis_url)
    if args.command == "create":
        scopes = {Scope(scope.strip()) for scope in args.scopes.split(",") if scope.strip()}
        key = args.key or generate_api_key()
        store_api_key(client, key, args.tenant, scopes, args.name)
        print(key)
    else:
        digest = args.key if len(args.key) == 64 else hash_api_key(args.key)
        if not revoke_api_key(client, digest):
            sys.exit("no such key")


if __name__ == "__main__":
    main()
