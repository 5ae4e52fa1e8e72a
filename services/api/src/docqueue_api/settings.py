"""The API's settings: the shared ones plus HTTP limits."""

from pydantic import Field

from docqueue.settings import Settings


class ApiSettings(Settings):
    """`DOCQUEUE_*` settings of an API process."""

    # Parts in one multipart upload (the file and a few option fields).
    max_parts: int = Field(default=8, ge=2)
    # Bytes in one non-file form field.
    max_field_bytes: int = Field(default=2048, ge=64)
    # Seconds an API key lookup is cached in-process; a revoked key stops working after this.
    api_key_cache_s: float = Field(default=10.0, ge=0)
    # Uploads are refused (503 + Retry-After) while this many messages wait in the documents queue.
    max_queue_depth: int = Field(default=10_000, ge=1)

    # --- batches (POST /v1/batches) --------------------------------------------------------
    # Members (files and URLs together) one batch may have; more are refused 422 too_many_members.
    max_batch_members: int = Field(default=1000, ge=1, le=100_000)
    # Bytes a batch's files may hold together (each file also within DOCQUEUE_MAX_UPLOAD_BYTES);
    # more are refused 413 while the body streams.
    max_batch_bytes: int = Field(default=1024 * 1024 * 1024, ge=1024)

    # --- live events (GET /v1/tasks/{id}/events) ---------------------------------------------
    # Seconds between heartbeat comments on an idle event stream, under every proxy's idle timeout.
    sse_heartbeat_s: float = Field(default=15.0, gt=0, le=120)
    # Open event streams per API process; more are answered 503 + Retry-After.
    sse_max_streams: int = Field(default=1000, ge=1)
    # Seconds one event stream stays open; the client then resumes with Last-Event-ID. Bounds
    # how long a deploy waits for streams to drain.
    sse_max_stream_s: float = Field(default=900.0, ge=1)
    # Longest `Prefer: wait=N` an upload may ask for: the answer comes once the task ends or after
    # this many seconds (then the usual 202). Each waiting upload takes an event-stream slot; 0
    # never waits. Keep it under the ingress's read timeout and the API's graceful-stop time.
    max_prefer_wait_s: int = Field(default=30, ge=0, le=300)

    # --- replication (Redis with Sentinel, docs/redis.md) -------------------------------------
    # Replicas that must hold an upload's job record and message before it is answered 202
    # (Redis `WAIT`); fewer within the timeout answers 503 + Retry-After, and the client's retry
    # finds the same task (Idempotency-Key or dedupe). 0 (single-node Redis) does not wait.
    redis_replica_acks: int = Field(default=0, ge=0, le=5)
    # Milliseconds an upload waits for those replicas.
    redis_replica_ack_timeout_ms: int = Field(default=500, ge=1, le=10_000)

    # --- hostile input and tenants (see README "Security") ----------------------------------
    # Body bytes of any request other than an upload (uploads have max_upload_bytes).
    max_request_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # Requests per second each tenant may make, sustained; 0 disables the limit.
    rate_limit_per_s: float = Field(default=50.0, ge=0)
    # Requests each tenant may make at once, above the sustained rate.
    rate_limit_burst: int = Field(default=100, ge=1)
    # Browser origins allowed to call the API, comma-separated ("https://app.example.com"). Empty:
    # CORS stays closed (no cross-origin browser call is allowed).
    cors_allow_origins: str = ""
    # Seconds a browser may cache a CORS preflight answer.
    cors_max_age_s: int = Field(default=600, ge=0)

    @property
    def cors_origins(self) -> list[str]:
        return [origin.strip() for origin in self.cors_allow_origins.split(",") if origin.strip()]
