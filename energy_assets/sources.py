"""Clients of the energy sources, each with its sample counterpart behind the same interface.

- `kma` (`resources.kma.KmaResource`): ASOS hourly weather.
- `kospo`: KOSPO (Nambu) solar XML on data.go.kr — date ranges with paging, never a call per day.
- `koen`: KOEN (Namdong) solar CSV from koenergy.kr — cookie, then form POST, a month at a time.
- `plant_geocoder`: Kakao keyword search for the coordinates of new plants (optional).

Without a key (or URL) in local mode each answers from `energy_assets.sample`, deterministic per
partition; `source` says which one served, and the assets report it in their metadata.
"""

import datetime as dt
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import requests
from pydantic import Field

from energy_assets import sample
from energy_assets.parsing import is_probably_csv, parse_kospo_page
from resources.http_source import (
    SourceError,
    http_get,
    redact,
    retrying_session,
    transient_status,
)
from resources.kma import KmaResource
from resources.kst import today_kst
from resources.settings import PlatformSettings

BROWSER_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36"
)
KOEN_URL = "https://www.koenergy.kr/kosep/gv/nf/dt/nfdt21"
# koenergy.kr serves its certificate without the intermediate; its AIA extension names this one.
KOEN_INTERMEDIATE_URL = "http://public.wisekey.com/crt/tsrsasecureca2.cer"


def ca_bundle_with(certificate: bytes, path: Path, extra_ca_file: str | None = None) -> Path:
    """Write certifi's CA bundle, `extra_ca_file` and `certificate` (DER or PEM) to `path`.

    A server that omits its intermediate certificate verifies against this bundle: the chain is
    still checked up to a trusted root, only the missing link is supplied.
    """
    import ssl

    import certifi

    text = certificate.decode("ascii", "replace")
    pem = text if "BEGIN CERTIFICATE" in text else ssl.DER_cert_to_PEM_cert(certificate)
    ssl.create_default_context(cadata=pem)  # refuses anything that is not a certificate
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    roots = [Path(certifi.where()).read_text()]
    if extra_ca_file:
        roots.append(Path(extra_ca_file).read_text())
    partial.write_text("\n".join([*roots, pem]))
    partial.replace(path)
    return path


KOSPO_MAX_RANGE_DAYS = 365  # one call may span up to a year


@contextmanager
def permanent_errors_fail_fast() -> Iterator[None]:
    """Turn a permanent `SourceError` into a `dg.Failure` that skips the step's retries.

    Another try cannot fix an HTML error page, a refused key, a spent quota or a garbled file, so
    the step fails at once with the same message (source, partition, plant, cause). A transient
    error (connection, 5xx that outlived the per-call retries) is raised as it is, and the step's
    `RetryPolicy` tries again.
    """
    try:
        yield
    except SourceError as error:
        if error.transient:
            raise
        raise dg.Failure(
            description=str(error),
            metadata={"source": error.source, "cause": error.cause},
            allow_retries=False,
        ) from error


def month_chunks(first: dt.date, last: dt.date) -> list[tuple[dt.date, dt.date]]:
    """[first, last] split at calendar-month boundaries."""
    chunks = []
    start = first
    while start <= last:
        next_month = (start.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        end = min(last, next_month - dt.timedelta(days=1))
        chunks.append((start, end))
        start = end + dt.timedelta(days=1)
    return chunks


class KospoResource(dg.ConfigurableResource):
    """KOSPO hourly solar generation per plant unit (XML; resultCode 800 is success)."""

    service_key: str | None = Field(default=None, description="data.go.kr service key (secret)")
    url: str = "https://apis.data.go.kr/B552520/PwrSunLightInfo/getDataService"
    use_sample: bool = Field(default=False, description="Without a key, serve sample generation")
    page_size: int = 100
    timeout_seconds: float = 20.0
    retries: int = 4
    backoff_seconds: float = 0.5
    pause_seconds: float = Field(default=0.05, description="Pause between calls (rate courtesy)")
    concurrency: int = Field(
        default=4, ge=1, description="Units fetched at once (each unit's pages stay in order)"
    )
    as_of: str | None = Field(
        default=None, description="Sample only: the day the sample source is asked (default today)"
    )

    @property
    def source(self) -> str:
        """'kospo', 'sample' or 'off'."""
        if self.service_key:
            return "kospo"
        return "sample" if self.use_sample else "off"

    def session(self) -> requests.Session:
        """A retrying session for a batch of calls."""
        return retrying_session(self.retries, self.backoff_seconds)

    def _page(
        self, session: requests.Session, params: dict[str, Any], partition: str | None, plant: str
    ) -> tuple[list[dict[str, str]], int]:
        if self.source == "off":
            raise SourceError("kospo", "no service key configured", partition=partition)
        text = http_get(
            session,
            "kospo",
            self.url,
            self.service_key or "",
            params,
            self.timeout_seconds,
            partition=partition,
            plant=plant,
        )
        if self.pause_seconds:
            time.sleep(self.pause_seconds)
        return parse_kospo_page(text, partition=partition, plant=plant)

    def _range(
        self,
        session: requests.Session,
        gencd: str,
        hogi: int,
        first: dt.date,
        last: dt.date,
        partition: str | None,
    ) -> tuple[list[dict[str, str]], int]:
        """Items of [first, last] (every page) and the calls made."""
        plant = f"{gencd}/{hogi}"
        if self.source == "sample":
            as_of = dt.date.fromisoformat(self.as_of) if self.as_of else today_kst()
            items = sample.kospo_items(gencd, hogi, first, last, as_of)
            return items, max(1, -(-len(items) // self.page_size))
        base = {
            "numOfRows": self.page_size,
            "strSdate": first.strftime("%Y%m%d"),
            "strEdate": last.strftime("%Y%m%d"),
            "strOrgCd": gencd,
            "strHoki": hogi,
        }
        items, calls, page = [], 0, 1
        while True:
            page_items, total = self._page(session, {**base, "pageNo": page}, partition, plant)
            calls += 1
            items.extend(page_items)
            if not page_items or page * self.page_size >= total:
                return items, calls
            page += 1

    def fetch_unit(
        self,
        gencd: str,
        hogi: int,
        first: dt.date,
        last: dt.date,
        session: requests.Session | None = None,
        partition: str | None = None,
    ) -> tuple[list[dict[str, str]], int]:
        """Items of one unit for [first, last] in year-long ranges, and the number of calls.

        Some days answer only when strEdate is the following day: when the last day of a range
        came back empty, it is asked once more as [last, last + 1] and only its own day is kept.
        """
        http = session or self.session()
        items: list[dict[str, str]] = []
        calls = 0
        start = first
        while start <= last:
            end = min(last, start + dt.timedelta(days=KOSPO_MAX_RANGE_DAYS - 1))
            got, n = self._range(http, gencd, hogi, start, end, partition)
            items.extend(got)
            calls += n
            wanted = end.isoformat()
            if not any(str(i.get("ymd", ""))[:10] == wanted for i in got):
                extra, n = self._range(
                    http, gencd, hogi, end, end + dt.timedelta(days=1), partition
                )
                items.extend(i for i in extra if str(i.get("ymd", ""))[:10] == wanted)
                calls += n
            start = end + dt.timedelta(days=1)
        return items, calls

    def has_data(
        self, gencd: str, hogi: int, first: dt.date, last: dt.date, session: requests.Session
    ) -> bool:
        """True when any day of [first, last] has data (one call of one row)."""
        if self.source == "sample":
            start = sample.kospo_first_day(gencd, hogi)
            return last >= start
        _, total = self._page(
            session,
            {
                "pageNo": 1,
                "numOfRows": 1,
                "strSdate": first.strftime("%Y%m%d"),
                "strEdate": last.strftime("%Y%m%d"),
                "strOrgCd": gencd,
                "strHoki": hogi,
            },
            None,
            f"{gencd}/{hogi}",
        )
        return total > 0


class KoenResource(dg.ConfigurableResource):
    """KOEN hourly solar CSV from koenergy.kr: a session cookie, then the form POST, per month."""

    base_url: str | None = Field(
        default=KOEN_URL,
        description="The nfdt21 folder of koenergy.kr; None = the sample source",
    )
    use_sample: bool = Field(default=False, description="Serve the sample CSV instead")
    org_no: str = Field(default="", description="strOrgNo; blank = every plant")
    hoki_s: str = ""
    hoki_e: str = ""
    page_index: str = "1"
    sleep_seconds: float = Field(default=5.0, description="Pause between month chunks")
    timeout_seconds: float = 120.0
    verify_ssl: bool = Field(default=True, description="KOEN_SSL_NO_VERIFY=1 turns this off")
    intermediate_cert_url: str | None = Field(
        default=KOEN_INTERMEDIATE_URL,
        description="Where the intermediate certificate the site omits is fetched (None: not)",
    )
    ca_file: str | None = Field(default=None, description="Extra CA bundle to trust (tests)")
    retries: int = 4
    backoff_seconds: float = 1.0
    raw_dir: str = Field(default=".platform/energy/koen", description="Where raw CSVs are kept")

    @property
    def source(self) -> str:
        """'koen' or 'sample'."""
        return "sample" if self.use_sample or not self.base_url else "koen"

    def tls_verify(self, session: requests.Session, partition: str | None = None) -> bool | str:
        """`verify=` for the site's calls: the CA bundle completed with the site's intermediate.

        The bundle is built once (kept beside the raw CSVs) from `intermediate_cert_url`; plain
        HTTP, no intermediate URL, or `verify_ssl` off need none.
        """
        if not self.verify_ssl:
            return False
        if not self.intermediate_cert_url or not (self.base_url or "").startswith("https://"):
            return self.ca_file or True
        bundle = Path(self.raw_dir).parent / "koen-ca-bundle.pem"
        if bundle.exists() and bundle.stat().st_size > 0:
            return str(bundle)
        try:
            response = session.get(self.intermediate_cert_url, timeout=self.timeout_seconds)
            response.raise_for_status()
            return str(ca_bundle_with(response.content, bundle, self.ca_file))
        except (requests.RequestException, ValueError) as exc:
            raise SourceError(
                "koen",
                f"intermediate certificate from {self.intermediate_cert_url}: {redact(str(exc))}",
                partition=partition,
                transient=isinstance(exc, requests.RequestException),
            ) from None

    def _form(self, first: dt.date, last: dt.date) -> dict[str, str]:
        return {
            "pageIndex": self.page_index,
            "menuCd": "FN0912020217",
            "xmlText": "",
            "strOrgNo": self.org_no,
            "strHokiS": self.hoki_s,
            "strHokiE": self.hoki_e,
            "strDateS": first.strftime("%Y%m%d"),
            "strDateE": last.strftime("%Y%m%d"),
        }

    def download_month(
        self, session: requests.Session, first: dt.date, last: dt.date, partition: str | None
    ) -> bytes:
        """One chunk's CSV bytes; an HTML page, a short or comma-less answer raises."""
        if self.source == "sample":
            return sample.koen_csv(first, last)
        assert self.base_url is not None
        main = f"{self.base_url.rstrip('/')}/main.do"
        form = self._form(first, last)
        where = f"{first:%Y-%m-%d}..{last:%Y-%m-%d}"
        verify = self.tls_verify(session, partition)
        try:
            session.get(main, params=form, timeout=self.timeout_seconds, verify=verify)
            response = session.post(
                f"{self.base_url.rstrip('/')}/csvDown.do",
                data={**form, "ptSignature": ""},
                headers={"Referer": main, "User-Agent": BROWSER_UA},
                timeout=self.timeout_seconds,
                verify=verify,
            )
        except requests.RequestException as exc:
            raise SourceError(
                "koen",
                f"{where}: unreachable: {redact(str(exc))}",
                partition=partition,
                transient=True,
            ) from None
        if response.status_code >= 400:
            raise SourceError(
                "koen",
                f"{where}: HTTP {response.status_code}",
                partition=partition,
                transient=transient_status(response.status_code),
            )
        content = response.content
        kind = response.headers.get("Content-Type", "").lower()
        why = "an HTML page instead of CSV" if "html" in kind else is_probably_csv(content)
        if why:
            raise SourceError(
                "koen",
                f"{where}: the download is not CSV ({why}; Content-Type {kind or '-'})",
                partition=partition,
            )
        return content

    def download(
        self,
        first: dt.date,
        last: dt.date,
        partition: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> list[tuple[str, bytes]]:
        """(file name, bytes) per calendar month of [first, last], pausing between months."""
        session = retrying_session(self.retries, self.backoff_seconds, user_agent=BROWSER_UA)
        tag = "전체" if not (self.org_no or self.hoki_s or self.hoki_e) else self.org_no or "sel"
        files = []
        for n, (start, end) in enumerate(month_chunks(first, last)):
            if n and self.source == "koen":
                sleep(self.sleep_seconds)
            content = self.download_month(session, start, end, partition)
            files.append((f"south_pv_{tag}_{start:%Y%m%d}-{end:%Y%m%d}.csv", content))
        return files

    def keep_raw(self, files: list[tuple[str, bytes]]) -> list[str]:
        """Write the downloaded files under `raw_dir` (replacing a previous copy); their paths."""
        folder = Path(self.raw_dir)
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, content in files:
            path = folder / name
            path.write_bytes(content)
            paths.append(str(path))
        return paths


class PlantGeocoderResource(dg.ConfigurableResource):
    """Coordinates of a plant's address: Kakao keyword search, the sample geocoder, or off."""

    api_key: str | None = Field(default=None, description="Kakao REST API key (secret)")
    base_url: str = "https://dapi.kakao.com"
    use_sample: bool = False
    timeout_seconds: float = 5.0

    @property
    def source(self) -> str:
        """'kakao', 'sample' or 'off'."""
        if self.api_key:
            return "kakao"
        return "sample" if self.use_sample else "off"

    def locate(self, query: str) -> tuple[float, float] | None:
        """(latitude, longitude) of an address or place name; None when unknown or off."""
        if not query.strip() or self.source == "off":
            return None
        if self.source == "sample":
            return sample.sample_geocode(query)
        session = retrying_session(2, 0.5)
        try:
            response = session.get(
                f"{self.base_url.rstrip('/')}/v2/local/search/keyword.json",
                params={"query": query},
                headers={"Authorization": f"KakaoAK {self.api_key}"},
                timeout=self.timeout_seconds,
            )
        except requests.RequestException as exc:
            raise SourceError("kakao", redact(str(exc), [self.api_key])) from None
        if response.status_code >= 400:
            raise SourceError(
                "kakao",
                f"HTTP {response.status_code}: {response.text[:200]}",
                secrets=[self.api_key],
            )
        documents = response.json().get("documents") or []
        if not documents:
            return None
        return float(documents[0]["y"]), float(documents[0]["x"])


def domain_resources(settings: PlatformSettings) -> dict[str, dg.ConfigurableResource]:
    """The energy resources, built from the settings (keys are passed as EnvVars)."""
    local = not settings.is_prod

    def secret(name: str) -> Any:
        return dg.EnvVar(name) if getattr(settings, name.lower()) else None

    return {
        "kma": KmaResource(
            service_key=secret("KMA_API_KEY"), base_url=settings.kma_api_url, use_sample=local
        ),
        "kospo": KospoResource(
            service_key=secret("KOSPO_API_KEY"), url=settings.kospo_api_url, use_sample=local
        ),
        "koen": KoenResource(
            base_url=settings.koen_url or (None if local else KOEN_URL),
            use_sample=local and not settings.koen_url,
            org_no=settings.koen_org_no,
            sleep_seconds=settings.koen_sleep_sec,
            verify_ssl=not settings.koen_ssl_no_verify,
            raw_dir=str(settings.home / "energy" / "koen"),
        ),
        "plant_geocoder": PlantGeocoderResource(
            api_key=secret("KAKAO_API_KEY"), base_url=settings.kakao_api_url, use_sample=local
        ),
    }
