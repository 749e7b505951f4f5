"""Parsers and transforms of the KOSPO XML and the KOEN CSV (plain Python, no Dagster).

Both sources label hours 1..24 *hour-ending*: label N covers [N−1, N). Every timestamp stored is
the interval start in KST, so label 24 of a day is that day's 23:00 and label 1 is 00:00.
"""

import datetime as dt
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from energy_assets.plants import NAMBU_BY_KEY
from resources.http_source import SourceError
from resources.kst import KST

KOSPO_SUCCESS = "800"
DAILY_FIELDS = {
    "qvodgen": "daily_total",
    "qvodavg": "daily_avg",
    "qvodmax": "daily_max",
    "qvodmin": "daily_min",
}
NAMBU_COLUMNS = ["datetime", "gencd", "hogi", "plant_name", "generation", *DAILY_FIELDS.values()]
NAMDONG_COLUMNS = ["datetime", "plant", "unit", "plant_name", "hour", "generation"]
ENCODINGS = ("cp949", "euc-kr", "utf-8-sig", "utf-8")
_HOUR_COLUMN = re.compile(r"^(\d+)\s*시\s*발전량")


def interval_start(day: dt.date, label: int) -> dt.datetime:
    """KST start of the hour a source labels `label` (1..24, hour-ending) on `day`."""
    if not 1 <= label <= 24:
        raise ValueError(f"hour label {label} outside 1..24")
    return dt.datetime(day.year, day.month, day.day, tzinfo=KST) + dt.timedelta(hours=label - 1)


# -- KOSPO ---------------------------------------------------------------------------------------
def parse_kospo_page(
    text: str, *, partition: str | None = None, plant: str | None = None
) -> tuple[list[dict[str, str]], int]:
    """(items, totalCnt) of one KOSPO XML page; `resultCode` 800 is success.

    Both shapes are read: `<items><item>…</item></items>` and the fields directly under
    `<items>` (one item).
    """
    try:
        root = ET.fromstring(text.strip().lstrip("\ufeff"))
    except ET.ParseError as exc:
        raise SourceError(
            "kospo",
            f"malformed XML ({exc}): {text.strip()[:120]}",
            partition=partition,
            plant=plant,
        ) from None
    code = (root.findtext(".//resultCode") or "").strip()
    if code != KOSPO_SUCCESS:
        message = (root.findtext(".//resultMsg") or "").strip()
        raise SourceError(
            "kospo", f"resultCode {code or '(none)'}: {message}", partition=partition, plant=plant
        )
    items_node = root.find(".//items")
    items: list[dict[str, str]] = []
    if items_node is not None:
        children = list(items_node)
        if any(child.tag == "item" for child in children):
            for item in items_node.iter("item"):
                items.append({c.tag: (c.text or "").strip() for c in item})
        elif children:
            items.append({c.tag: (c.text or "").strip() for c in children})
    total_text = (root.findtext(".//totalCnt") or root.findtext(".//totalCount") or "").strip()
    total = int(total_text) if total_text.isdigit() else len(items)
    return items, total


def _number(value: Any) -> float | None:
    if value is None:
        return None
    text = str(value).strip().replace(",", "")
    if text in ("", "-", "None", "null", "NaN"):
        return None
    try:
        return float(text)
    except ValueError:
        return None


def numbers(values: pd.Series) -> pd.Series:
    """Floats of the sources' text values; "", "-", "None", "null" and text become NaN."""
    text = values.astype("string").str.strip().str.replace(",", "", regex=False)
    return pd.to_numeric(text, errors="coerce").astype("float64")


HOUR_FIELDS = [f"qhorgen{label:02d}" for label in range(1, 25)]


def nambu_hourly(
    items: Iterable[Mapping[str, str]], days: set[dt.date] | None = None
) -> pd.DataFrame:
    """Hourly rows of KOSPO items: one per present hour, the daily figures repeated on each.

    An empty hourly value is a missing hour: no row, never a 0. A missing `ipptnm` takes the
    registry's name. Items outside `days` (when given) are dropped. Column-wise, with the
    timestamps built once for all rows: each item's KST midnight + (label − 1) hours.
    """
    wide = pd.DataFrame(list(items))
    for field in ("ymd", "gencd", "hogi", "ipptnm", *DAILY_FIELDS, *HOUR_FIELDS):
        if field not in wide.columns:
            wide[field] = None
    if wide.empty:
        return _typed_nambu(pd.DataFrame(columns=NAMBU_COLUMNS))
    ymd = wide["ymd"].astype("string").str.strip().str[:10].str.replace(".", "-", regex=False)
    day = pd.to_datetime(ymd, format="%Y-%m-%d", errors="coerce")
    hogi = pd.to_numeric(wide["hogi"].astype("string").str.strip(), errors="coerce")
    gencd = wide["gencd"].fillna("").astype(str).str.strip()
    keep = day.notna() & hogi.notna() & (hogi == hogi.round()) & (gencd != "")
    if days is not None:
        keep &= day.isin(pd.to_datetime(sorted(days)))
    wide, day, hogi, gencd = wide[keep], day[keep], hogi[keep].astype("int64"), gencd[keep]
    name = wide["ipptnm"].fillna("").astype(str).str.strip()
    missing = (name == "") | (name == "None")
    if missing.any():
        name[missing] = [
            known.name if (known := NAMBU_BY_KEY.get((g, h))) else g
            for g, h in zip(gencd[missing], hogi[missing], strict=True)
        ]
    hours = np.column_stack([numbers(wide[f]) for f in HOUR_FIELDS]) if len(wide) else None
    if hours is None:
        return _typed_nambu(pd.DataFrame(columns=NAMBU_COLUMNS))
    present = ~np.isnan(hours)  # rows × 24
    row, slot = np.nonzero(present)
    # midnight localized once per item (KST has no DST since 1988), then + (label − 1) hours
    midnight = pd.DatetimeIndex(day).tz_localize(KST)
    stamps = midnight[row] + pd.to_timedelta(slot, unit="h")
    frame = pd.DataFrame(
        {
            "datetime": stamps,
            "gencd": gencd.to_numpy()[row],
            "hogi": hogi.to_numpy()[row],
            "plant_name": name.to_numpy()[row],
            "generation": hours[row, slot],
            **{
                column: numbers(wide[field]).to_numpy()[row]
                for field, column in DAILY_FIELDS.items()
            },
        }
    )
    return _typed_nambu(frame).drop_duplicates(subset=["datetime", "gencd", "hogi"], keep="last")


def _typed_nambu(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame[NAMBU_COLUMNS].copy()
    if not isinstance(frame["datetime"].dtype, pd.DatetimeTZDtype):
        frame["datetime"] = pd.to_datetime(frame["datetime"], utc=True).dt.tz_convert(KST)
    frame["hogi"] = frame["hogi"].astype("int64")
    return frame.reset_index(drop=True)


# -- KOEN ----------------------------------------------------------------------------------------
def is_probably_csv(content: bytes, min_bytes: int = 1000) -> str | None:
    """None when `content` looks like the KOEN CSV, else why not (an HTML page, too short…)."""
    head = content[:2000].lstrip().lower()
    if head.startswith((b"<!doctype", b"<html", b"<head")):
        return "an HTML page instead of CSV"
    if len(content) < min_bytes:
        return f"only {len(content)} bytes"
    if head.count(b",") < 5:
        return "fewer than 5 commas in the first 2000 bytes"
    return None


def decode_csv(content: bytes) -> tuple[str, str]:
    """(text, encoding): cp949, then euc-kr, utf-8-sig, utf-8; U+FFFD (mojibake) is refused.

    A decoding that yields the replacement character means the file was already garbled (or is
    in none of these encodings): loading it would store broken plant names.
    """
    for encoding in ENCODINGS:
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\ufffd" in text:
            raise ValueError(
                f"CSV contains U+FFFD replacement characters when read as {encoding} "
                "(mojibake): refused"
            )
        return text, encoding
    raise ValueError(f"CSV is in none of {', '.join(ENCODINGS)}")


def parse_koen_csv(content: bytes) -> tuple[pd.DataFrame, str]:
    """(wide frame with plant, unit, day and hour labels 1..24, encoding) of a KOEN CSV."""
    text, encoding = decode_csv(content)
    frame = pd.read_csv(io.StringIO(text), engine="python", skipinitialspace=True, dtype=str)
    frame.columns = [" ".join(str(c).split()) for c in frame.columns]
    if "발전구분" not in frame.columns and "발전소명" in frame.columns:
        frame["발전구분"] = frame["발전소명"]
    hours = {c: int(m.group(1)) for c in frame.columns if (m := _HOUR_COLUMN.match(c))}
    missing = [c for c in ("발전구분", "호기", "일자") if c not in frame.columns]
    if missing or len(hours) != 24:
        raise ValueError(f"unexpected KOEN CSV columns (missing {missing}, {len(hours)} hours)")
    out = pd.DataFrame(
        {
            "plant": frame["발전구분"].str.strip(),
            "unit": pd.to_numeric(frame["호기"], errors="coerce"),
            "day": pd.to_datetime(frame["일자"].str.strip(), errors="coerce").dt.date,
        }
    )
    for column, label in hours.items():
        out[label] = frame[column].map(_number)
    return out.dropna(subset=["plant", "unit", "day"]).astype({"unit": "int64"}), encoding


def namdong_names(pairs: Iterable[tuple[str, int]]) -> dict[tuple[str, int], str]:
    """One naming rule over every (plant, unit) ever seen: `{plant}_{unit}` for multi-unit plants.

    Deciding per file (the original) named a unit differently in months where only one of its
    plant's units reported; here the rule is applied to the union of all months.
    """
    pairs = set(pairs)
    units: dict[str, set[int]] = {}
    for plant, unit in pairs:
        units.setdefault(plant, set()).add(unit)
    return {
        (plant, unit): f"{plant}_{unit}" if len(units[plant]) > 1 else plant
        for plant, unit in pairs
    }


def namdong_hourly(wide: pd.DataFrame, names: Mapping[tuple[str, int], str]) -> pd.DataFrame:
    """Long hourly rows of a parsed KOEN CSV; an empty value is a missing hour (no row)."""
    rows = []
    for record in wide.to_dict("records"):
        key = (record["plant"], int(record["unit"]))
        for label in range(1, 25):
            value = record.get(label)
            if value is None or pd.isna(value):
                continue
            rows.append(
                {
                    "datetime": interval_start(record["day"], label),
                    "plant": key[0],
                    "unit": key[1],
                    "plant_name": names[key],
                    "hour": label,
                    "generation": float(value),
                }
            )
    frame = pd.DataFrame(rows, columns=NAMDONG_COLUMNS)
    frame["datetime"] = pd.to_datetime(frame["datetime"], utc=True).dt.tz_convert(KST)
    return frame.drop_duplicates(subset=["datetime", "plant", "unit"], keep="last")
