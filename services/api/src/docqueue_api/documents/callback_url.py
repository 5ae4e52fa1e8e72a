"""The optional `callback_url` form field of an upload, checked with the rules the worker applies
again before every delivery (see `docqueue.callbacks`)."""

import anyio

from docqueue.callbacks import CallbackPolicy, CallbackRefused, check_url, resolve_target
from docqueue.errors import ProblemCode
from docqueue.settings import Settings
from docqueue_api.problems import ProblemError

CALLBACK_FIELD = "callback_url"
# Seconds a callback host may take to resolve at upload before the upload is refused.
RESOLVE_TIMEOUT_S = 3.0


async def accept_callback_url(raw: str | None, settings: Settings) -> str | None:
    """The URL to store on the job, or a 422 naming why docqueue will not call it."""
    if raw is None or raw.strip() == "":
        return None
    url = raw.strip()
    if settings.callback_secret is None:
        raise _refused("callbacks_disabled", "this docqueue does not send callbacks (no signing secret)")
    policy = CallbackPolicy.from_settings(settings)
    try:
        target = check_url(url, policy)
        with anyio.fail_after(RESOLVE_TIMEOUT_S):
            await anyio.to_thread.run_sync(resolve_target, target, policy, abandon_on_cancel=True)
    except CallbackRefused as exc:
        raise _refused(exc.reason, exc.message) from exc
    except (OSError, TimeoutError) as exc:
        raise _refused("unresolvable_host", "the callback host does not resolve") from exc
    return url


def _refused(reason: str, message: str) -> ProblemError:
    return ProblemError(
        422,
        ProblemCode.INVALID_CALLBACK_URL,
        message,
        errors=[{"loc": ["body", CALLBACK_FIELD], "msg": message, "type": reason}],
    )
