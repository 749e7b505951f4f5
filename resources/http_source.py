"""HTTP sources: retrying sessions, credential redaction and the data.go.kr gateway rules.

Every client of an external HTTP source uses these, so that they fail and redact alike:

- `retrying_session`: transient failures (connection errors, HTTP 5xx) are retried per call by
  urllib3's `Retry` with exponential backoff and jitter;
- `SourceError`: an error that stays names source, partition, plant and cause, with every
  credential redacted (`redact`), and says whether a later try may succeed (`transient`);
- data.go.kr: `serviceKey` containing `%` is the "Encoding" form and goes into a query string built
  by hand (never encoded twice), any other key through the HTTP library's params (`keyed_url`);
  gateway errors arrive as an XML `OpenAPI_ServiceResponse/cmmMsgHeader` envelope, often even when
  JSON was asked for and sometimes with HTTP 403/429, and are detected before any parsing
  (`gateway_error`, `http_get`).
"""

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, urlencode

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

GATEWAY_CODES = {
    "1": "APPLICATION_ERROR",
    "10": "INVALID_REQUEST_PARAMETER_ERROR",
    "12": "NO_OPENAPI_SERVICE_ERROR",
    "20": "SERVICE_ACCESS_DENIED_ERROR",
    "22": "LIMITED_NUMBER_OF_SERVICE_REQUESTS_EXCEEDS_ERROR",
    "30": "SERVICE_KEY_IS_NOT_REGISTERED_ERROR",
    "31": "DEADLINE_HAS_EXPIRED_ERROR",
    "32": "UNREGISTERED_IP_ERROR",
    "99": "UNKNOWN_ERROR",
}
# HTTP answers worth another try: the server or a proxy failed for a moment. A quota error (HTTP
# 429 or the gateway's code 22) is a daily limit and is not retried.
RETRY_STATUSES = (500, 502, 503, 504)
# Gateway envelopes that a later try may not repeat (the gateway's own failure); every other
# code (key, IP, quota, parameters, service) stays until a person acts.
TRANSIENT_GATEWAY_ERRORS = ("APPLICATION_ERROR", "UNKNOWN_ERROR")


class SourceError(RuntimeError):
    """An external source is unusable; the message names source, partition, plant and cause.

    `transient` is True when a later try may succeed (connection errors, 5xx that outlived the
    per-call retries); a permanent error (auth, quota, malformed payload…) is False.
    """

    def __init__(
        self,
        source: str,
        cause: str,
        *,
        partition: str | None = None,
        plant: str | None = None,
        secrets: Iterable[str | None] = (),
        transient: bool = False,
        status: int | None = None,
    ) -> None:
        self.source = source
        self.transient = transient
        self.status = status  # the HTTP status of the answer, when there was one
        self.partition = partition
        self.plant = plant
        self.cause = redact(cause, secrets)
        where = ", ".join(
            part
            for part in (
                f"partition {partition}" if partition else "",
                f"plant {plant}" if plant else "",
            )
            if part
        )
        super().__init__(f"{source}{f' ({where})' if where else ''}: {self.cause}")


_KEY_IN_QUERY = re.compile(r"(?i)(service_?key|api_?key|authkey|password|passwd)=([^&\s'\"]+)")
_PASSWORD_IN_URL = re.compile(r"(?i)([a-z][a-z0-9+.-]*://[^:/@\s]+):([^@/\s]+)@")
_AUTH_HEADER = re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(\w+\s+)?[^'\",}\s]+")
# Key headers and mapping entries as an echoed request shows them: `X-API-KEY: v`, `"apiKey": "v"`.
_KEY_IN_MAPPING = re.compile(
    r"(?i)((?:x-)?(?:service[-_]?key|api[-_]?key|auth[-_]?key|access[-_]?token|password|passwd)"
    r"['\"]?\s*:\s*['\"]?)[^'\",}&\s]+"
)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` without credentials: key parameters, URL passwords, auth and key headers, secrets.

    Redact before clipping a text: a clipped text may hold part of a secret that no longer
    matches it.
    """
    out = _KEY_IN_QUERY.sub(lambda m: f"{m.group(1)}=***", text)
    out = _PASSWORD_IN_URL.sub(lambda m: f"{m.group(1)}:***@", out)
    out = _AUTH_HEADER.sub(lambda m: f"{m.group(1)}{m.group(2) or ''}***", out)
    out = _KEY_IN_MAPPING.sub(lambda m: f"{m.group(1)}***", out)
    for secret in secrets:
        if secret and len(secret) >= 4:
            for form in {secret, quote(secret, safe=""), quote(secret)}:
                out = out.replace(form, "***")
    return out


def retrying_session(
    retries: int = 4, backoff: float = 0.5, jitter: float = 0.5, user_agent: str | None = None
) -> requests.Session:
    """A requests session whose every call retries transient failures (urllib3 `Retry`).

    Waits grow exponentially from `backoff` seconds, each with up to `jitter` seconds added at
    random; POST is retried too (the sources' POSTs are downloads without side effects).
    """
    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=backoff,
        backoff_jitter=jitter,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=None,
        raise_on_status=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry, pool_maxsize=16)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    if user_agent:
        session.headers["User-Agent"] = user_agent
    return session


def keyed_url(url: str, key: str, params: Mapping[str, Any]) -> tuple[str, dict[str, Any] | None]:
    """(URL, params) for a data.go.kr call; an encoded key (with `%`) is never encoded again."""
    if "%" in key:
        return f"{url}?serviceKey={key}&{urlencode(params)}", None
    return url, {"serviceKey": key, **params}


def gateway_error(text: str, secrets: Iterable[str | None] = ()) -> str | None:
    """The gateway's error (code, name, messages) when `text` is its XML envelope, else None.

    The text is redacted of credentials and `secrets` before anything of it is quoted.
    """
    stripped = text.lstrip().lstrip("\ufeff")
    if not stripped.startswith("<") or "cmmMsgHeader" not in stripped[:2000]:
        return None
    try:
        root = ET.fromstring(stripped)
    except ET.ParseError:
        return f"unreadable gateway envelope: {redact(stripped, secrets)[:120]}"
    header = root.find(".//cmmMsgHeader")
    if header is None:  # pragma: no cover - guarded by the substring test above
        return None
    code = (header.findtext("returnReasonCode") or "").strip()
    messages = [(header.findtext(tag) or "").strip() for tag in ("errMsg", "returnAuthMsg")]
    name = GATEWAY_CODES.get(code, code)
    for known in GATEWAY_CODES.values():  # the code may be the name itself, or only in the texts
        if any(known in m for m in (*messages, code)):
            name = known
            break
    detail = redact(" / ".join(m for m in messages if m), secrets)
    return f"gateway error {code} {name}" + (f": {detail}" if detail else "")


def transient_status(status: int) -> bool:
    """Whether an HTTP error may pass by itself (5xx, 408), not a refusal (401, 403, 429…)."""
    return status >= 500 or status == 408


def http_get(
    session: requests.Session,
    source: str,
    url: str,
    key: str,
    params: Mapping[str, Any],
    timeout: float,
    *,
    partition: str | None = None,
    plant: str | None = None,
) -> str:
    """GET a data.go.kr operation; the body text, or `SourceError` (gateway envelope, HTTP)."""
    full_url, query = keyed_url(url, key, params)
    try:
        response = session.get(full_url, params=query, timeout=timeout)
    except requests.RequestException as exc:
        raise SourceError(
            source,
            f"unreachable: {exc}",
            partition=partition,
            plant=plant,
            secrets=[key],
            transient=True,
        ) from None
    text = response.text
    envelope = gateway_error(text, [key])
    if envelope:
        raise SourceError(
            source,
            f"HTTP {response.status_code}, {envelope}",
            partition=partition,
            plant=plant,
            secrets=[key],
            transient=any(name in envelope for name in TRANSIENT_GATEWAY_ERRORS),
            status=response.status_code,
        )
    if response.status_code >= 400:
        raise SourceError(
            source,
            f"HTTP {response.status_code}: {redact(text, [key])[:200]}",
            partition=partition,
            plant=plant,
            secrets=[key],
            transient=transient_status(response.status_code),
            status=response.status_code,
        )
    return text
