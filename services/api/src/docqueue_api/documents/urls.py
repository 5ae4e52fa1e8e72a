"""The URLs a submission may carry, checked with the rules the worker applies again before it
calls them (docqueue.egress): `callback_url` (the webhook) and `source_url` (where the worker
fetches the document)."""

import anyio

from docqueue.egress import EgressPolicy, UrlRefused, check_url, resolve_target
from docqueue.errors import ProblemCode
from docqueue.settings import Settings
from docqueue.sources import is_s3, parse_s3_source, source_policy
from docqueue.webhooks import webhook_policy
from docqueue_api.problems import ProblemError

CALLBACK_FIELD = "callback_url"
SOURCE_FIELD = "source_url"
# Seconds a host may take to resolve at submission before the submission is refused.
RESOLVE_TIMEOUT_S = 3.0


Loc = list[str | int]


async def accept_callback_url(raw: str | None, settings: Settings) -> str | None:
    """The webhook URL to store, or a 422 naming why docqueue will not call it."""
    if raw is None or raw.strip() == "":
        return None
    loc: Loc = ["body", CALLBACK_FIELD]
    if settings.webhook_secret is None:
        message = "this docqueue does not send webhooks (no signing secret)"
        raise _refused(ProblemCode.INVALID_CALLBACK_URL, loc, "callbacks_disabled", message)
    return await _checked(raw.strip(), webhook_policy(settings), ProblemCode.INVALID_CALLBACK_URL, loc)


async def accept_source_url(raw: str, settings: Settings, loc: Loc | None = None) -> str:
    """A `source_url` a worker may fetch (https, or s3:// from an allowed bucket), or a 422."""
    url = raw.strip()
    loc = loc or ["body", SOURCE_FIELD]
    if not settings.source_urls_enabled:
        message = "this docqueue fetches no source URLs (DOCQUEUE_SOURCE_URLS_ENABLED)"
        raise _refused(ProblemCode.INVALID_SOURCE_URL, loc, "sources_disabled", message)
    if is_s3(url):
        try:
            return parse_s3_source(url, settings).url
        except UrlRefused as exc:
            raise _refused(ProblemCode.INVALID_SOURCE_URL, loc, exc.reason, exc.message) from exc
    return await _checked(url, source_policy(settings), ProblemCode.INVALID_SOURCE_URL, loc)


async def _checked(url: str, policy: EgressPolicy, code: ProblemCode, loc: Loc) -> str:
    try:
        target = check_url(url, policy)
        with anyio.fail_after(RESOLVE_TIMEOUT_S):
            await anyio.to_thread.run_sync(resolve_target, target, policy, abandon_on_cancel=True)
    except UrlRefused as exc:
        raise _refused(code, loc, exc.reason, exc.message) from exc
    except (OSError, TimeoutError) as exc:
        raise _refused(code, loc, "unresolvable_host", f"the {policy.what} host does not resolve") from exc
    return url


def _refused(code: ProblemCode, loc: Loc, reason: str, message: str) -> ProblemError:
    return ProblemError(422, code, message, errors=[{"loc": loc, "msg": message, "type": reason}])
