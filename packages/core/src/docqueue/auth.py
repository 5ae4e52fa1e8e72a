"""API keys: random bearer tokens, stored only as SHA-256 digests, each bound to a tenant and scopes."""

import hashlib
import json
import secrets
import time
from enum import StrEnum

import redis
from pydantic import BaseModel

from docqueue.jobs import keys

KEY_PREFIX = "dq_"


class Scope(StrEnum):
    SUBMIT = "submit"
    READ = "read"
    ADMIN = "admin"


class ApiKey(BaseModel):
    """What a key grants. The key itself is never stored."""

    tenant: str
    scopes: frozenset[Scope]
    name: str = ""
    created_at: float = 0.0


def generate_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    # Keys are 256-bit random tokens, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(key.encode()).hexdigest()


def store_api_key(client: redis.Redis, key: str, tenant: str, scopes: set[Scope], name: str = "") -> ApiKey:
    """Register `key` (any string the operator chose, or `generate_api_key()`)."""
    record = ApiKey(tenant=tenant, scopes=frozenset(scopes), name=name, created_at=time.time())
    client.set(keys.api_key(hash_api_key(key)), record.model_dump_json())
    return record


def revoke_api_key(client: redis.Redis, key_hash: str) -> bool:
    return bool(client.delete(keys.api_key(key_hash)))


def parse_api_key(raw: bytes | str) -> ApiKey:
    return ApiKey.model_validate(json.loads(raw))
