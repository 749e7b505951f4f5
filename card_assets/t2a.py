"""T2A queries and answers: request templates with placeholders, the long-form response, filters.

Plain logic (no Dagster): `sources.T2AResource` sends the requests, the sample source builds
answers of the same shape, and both go through `parse_longform` and `extract_frame`.
"""

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

TEMPLATE_DIR = Path(__file__).parent / "templates"
# Extract kind -> T2A request template.
TEMPLATES = {"material": "SALES_ORG.json", "gscm": "SALES_TOTAL.json"}

ORG = "SALES_ORG_CD"
ACCOUNT = "GSCM Account"
SOLD_TO = "SoldTo"
PGROUP = "GSCM P/Group"
PRODUCT = "GSCM Product"
MATERIAL = "Material"
TARGET = "Target Plan"
EST = "Est. Sales"
ACH = "Ach. vs Target Plan"
BILLING = "Billing"
GROWTH = "Growth(%) Y-1"

COLUMNS = {
    "material": [ORG, ACCOUNT, SOLD_TO, PGROUP, PRODUCT, MATERIAL, TARGET, EST, ACH],
    "gscm": [ORG, ACCOUNT, TARGET, EST, ACH, BILLING, GROWTH],
}
TEXT_COLUMNS = {
    "material": [ORG, ACCOUNT, SOLD_TO, PGROUP, PRODUCT, MATERIAL],
    "gscm": [ORG, ACCOUNT],
}
NUMBER_COLUMNS = {"material": [TARGET, EST, ACH], "gscm": [TARGET, EST, ACH, BILLING, GROWTH]}


class PayloadError(ValueError):
    """A T2A answer that cannot be read (not JSON, no `meta.content`, ragged rows, bad numbers)."""


def placeholders(sales_org: str, currency: str, local_now: dt.datetime) -> dict[str, Any]:
    """The template placeholders of one org: its code, currency and its local month."""
    return {
        "{today_date/YYYY.MM}": local_now.strftime("%Y.%m"),
        "{today_date/YYYYMM}": local_now.strftime("%Y%m"),
        "{CUR}": currency,
        "{sales_org_cd}": sales_org,
    }


def replace_placeholders(node: Any, mapping: dict[str, Any]) -> Any:
    """`node` with every string that equals a placeholder replaced (a list value is spliced in)."""
    if isinstance(node, dict):
        return {key: replace_placeholders(value, mapping) for key, value in node.items()}
    if isinstance(node, list):
        out: list[Any] = []
        for item in node:
            value = replace_placeholders(item, mapping)
            if isinstance(item, str) and item in mapping and isinstance(value, list):
                out.extend(value)
            else:
                out.append(value)
        return out
    if isinstance(node, str) and node in mapping:
        return copy.deepcopy(mapping[node])
    return node


def load_template(kind: str) -> dict[str, Any]:
    """The request template of an extract kind (`material` or `gscm`)."""
    return json.loads((TEMPLATE_DIR / TEMPLATES[kind]).read_text(encoding="utf-8"))


def build_query(kind: str, sales_org: str, currency: str, local_now: dt.datetime) -> dict:
    """The filled T2A request of one org."""
    return replace_placeholders(load_template(kind), placeholders(sales_org, currency, local_now))


def _strip_bom(text: str) -> str:
    return text.lstrip("\ufeff").strip()


def parse_longform(body: str | bytes) -> pd.DataFrame:
    """The rows of a T2A answer: `meta.content` is itself JSON, `{headers, rows}`.

    A BOM is stripped from the body and from the content; empty content (`""`, `{}`, `[]`) means
    no rows. Anything unreadable raises `PayloadError` naming what was wrong.
    """
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    try:
        answer = json.loads(_strip_bom(body))
    except json.JSONDecodeError as exc:
        raise PayloadError(f"answer is not JSON ({exc.msg} at {exc.pos}): {body[:80]!r}") from None
    meta = answer.get("meta") if isinstance(answer, dict) else None
    if not isinstance(meta, dict) or "content" not in meta:
        raise PayloadError(f"answer has no meta.content: {str(answer)[:80]!r}")
    content = meta["content"]
    if content is None:
        return pd.DataFrame()
    if isinstance(content, str):
        text = _strip_bom(content)
        if text in ("", "{}", "[]"):
            return pd.DataFrame()
        try:
            content = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PayloadError(f"meta.content is not JSON ({exc.msg}): {text[:80]!r}") from None
    if content in ({}, []):
        return pd.DataFrame()
    if not isinstance(content, dict) or "headers" not in content or "rows" not in content:
        raise PayloadError("meta.content has no headers/rows")
    headers = [str(h).replace("\xa0", " ").strip() for h in content["headers"]]
    rows = content["rows"] or []
    ragged = [
        i for i, row in enumerate(rows) if not isinstance(row, list) or len(row) != len(headers)
    ]
    if ragged:
        raise PayloadError(
            f"{len(ragged)} row(s) do not have the {len(headers)} headers' values "
            f"(first: row {ragged[0]})"
        )
    return pd.DataFrame(rows, columns=headers)


def filter_and_sort_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Under-achieving rows, worst first.

    Rows with a target and achievement under 100 %; when none has a target, every row under
    100 %. Sorted by achievement ascending, target descending, estimated sales ascending.
    """
    if frame.empty:
        return frame
    under = frame[ACH] < 100
    kept = frame[under & (frame[TARGET] != 0)]
    if kept.empty:
        kept = frame[under]
    return kept.sort_values(
        [ACH, TARGET, EST], ascending=[True, False, True], kind="mergesort"
    ).reset_index(drop=True)


def extract_frame(kind: str, sales_org: str, raw: pd.DataFrame) -> pd.DataFrame:
    """One org's extract: its columns, numbers checked, under-achievers sorted, org code first."""
    columns = COLUMNS[kind]
    if raw.empty and not len(raw.columns):
        return empty_extract(kind)
    missing = [c for c in columns[1:] if c not in raw.columns]
    if missing:
        raise PayloadError(f"{TEMPLATES[kind]} answer lacks column(s) {missing}")
    frame = raw[columns[1:]].copy()
    for column in NUMBER_COLUMNS[kind]:
        numbers = pd.to_numeric(frame[column], errors="coerce")
        bad = numbers.isna() & frame[column].notna()
        if bad.any():
            value = frame.loc[bad, column].iloc[0]
            raise PayloadError(
                f"column {column!r} has {int(bad.sum())} non-number(s), e.g. {value!r}"
            )
        frame[column] = numbers.astype(float)
    frame.insert(0, ORG, sales_org)
    for column in TEXT_COLUMNS[kind]:
        frame[column] = frame[column].astype(str)
    return filter_and_sort_rows(frame)[columns]


def empty_extract(kind: str) -> pd.DataFrame:
    """An extract with the kind's columns and no rows (an org without under-achieving rows)."""
    return pd.DataFrame(
        {c: pd.Series(dtype=float if c in NUMBER_COLUMNS[kind] else object) for c in COLUMNS[kind]}
    )


def longform_body(headers: list[str], rows: list[list[Any]], bom: bool = False) -> str:
    """A T2A answer in the long-form shape (the sample source and tests build answers with it)."""
    content = json.dumps({"headers": headers, "rows": rows}, ensure_ascii=False, default=_plain)
    return json.dumps(
        {"meta": {"content": ("\ufeff" if bom else "") + content}}, ensure_ascii=False
    )


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON: {value!r}")
