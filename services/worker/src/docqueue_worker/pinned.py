"""Requests to a URL checked by docqueue.egress, sent to the very addresses that were checked.

A webhook delivery and a source fetch both resolve the host themselves, check every address, and
then must not let anything resolve it again: the request goes to a checked address, with the
URL's own Host header and TLS name (SNI and certificate check), from a client of its own (a pooled
connection opened for another name on the same address must never carry it) that reads no proxy
from the environment (a proxy would resolve the name again, behind the check) and follows no
redirect (the caller checks each one).
"""

import ssl

import httpx

from docqueue.egress import IPAddress, Target

# Addresses of one name tried per request: the next one only when connecting to one failed.
MAX_ADDRESSES = 2


def pinned_client(timeout: float | httpx.Timeout, ssl_context: ssl.SSLContext) -> httpx.Client:
    return httpx.Client(timeout=timeout, follow_redirects=False, verify=ssl_context, trust_env=False)


def send_pinned(
    client: httpx.Client,
    method: str,
    target: Target,
    addresses: list[IPAddress],
    headers: dict[str, str],
    content: bytes | None = None,
) -> httpx.Response:
    """The answer (streamed: the caller reads or closes it) of the first address that accepts a
    connection; httpx's ConnectError of the last one when none does."""
    error: httpx.ConnectError | None = None
    for address in addresses[:MAX_ADDRESSES]:
        request = client.build_request(
            method,
            target.pinned_url(address),
            content=content,
            headers={**headers, "Host": target.host_header},
            extensions={"sni_hostname": target.host},
        )
        try:
            return client.send(request, stream=True)
        except httpx.ConnectError as exc:
            error = exc
    raise error or httpx.ConnectError("no address to connect to")
