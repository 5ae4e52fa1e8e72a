"""Route dependencies as `Annotated` aliases, so a signature reads like a sentence."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from docqueue.auth import Scope
from docqueue.errors import ProblemCode
from docqueue.logging_config import tenant_var
from docqueue_api.auth import Caller
from docqueue_api.problems import ProblemError
from docqueue_api.services import ApiServices

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer dq_...`")


def get_services(request: Request) -> ApiServices:
    services: ApiServices = request.app.state.services
    return services


ServicesDep = Annotated[ApiServices, Depends(get_services)]


async def get_caller(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None:
        raise ProblemError(401, ProblemCode.UNAUTHORIZED, "an API key is required", headers=challenge)
    caller = await services.keys.resolve(credentials.credentials)
    if caller is None:
        raise ProblemError(401, ProblemCode.UNAUTHORIZED, "the API key is not valid", headers=challenge)
    settings = services.settings
    verdict = await services.rate_limiter.check(caller.tenant)
    if not verdict.allowed:
        raise ProblemError(
            429,
            ProblemCode.RATE_LIMITED,
            f"over {settings.rate_limit_per_s:g} requests per second for this tenant",
            headers={"Retry-After": str(verdict.retry_after_s)},
        )
    # Log lines of the rest of this request name the tenant (see docqueue.logging_config).
    tenant_var.set(caller.tenant)
    return caller


def require(scope: Scope) -> object:
    async def check(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
        if not caller.can(scope):
            raise ProblemError(403, ProblemCode.FORBIDDEN, f"the API key lacks the {scope!s} scope")
        return caller

    # Marks the dependency so a test can prove every route checks a scope.
    check.required_scope = scope  # type: ignore[attr-defined]
    return Depends(check)


SubmitterDep = Annotated[Caller, require(Scope.SUBMIT)]
ReaderDep = Annotated[Caller, require(Scope.READ)]
AdminDep = Annotated[Caller, require(Scope.ADMIN)]
