"""API keys for tests: one helper instead of generate-and-store at every call site."""

import uuid

import redis

from docqueue.auth import Scope, generate_api_key, store_api_key


def tenant_key(client: redis.Redis, tenant: str | None = None, scopes: set[Scope] | None = None) -> str:
    """A new key stored in `client`'s Redis; without a tenant, a tenant of its own."""
    key = generate_api_key()
    store_api_key(
        client, key, tenant or f"t-{uuid.uuid4().hex[:8]}", set(Scope) if scopes is None else scopes
    )
    return key
