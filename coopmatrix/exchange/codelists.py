"""IATI's codelists, as copied into data/iati/codelists (see SOURCES.md): which codes exist, and
their English names for the preview. Read once per process, on first use."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from lxml import etree

FOLDER = Path(__file__).resolve().parent / "data" / "iati" / "codelists"


@cache
def names(codelist: str) -> dict[str, str]:
    """Each code of the codelist (withdrawn ones too: older files use them) and its English name."""
    path = FOLDER / f"{codelist}.xml"
    tree = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))
    found: dict[str, str] = {}
    for item in tree.iterfind(".//codelist-item"):
        code = (item.findtext("code") or "").strip()
        name = ""
        for narrative in item.iterfind("name/narrative"):
            if narrative.get("{http://www.w3.org/XML/1998/namespace}lang") in (None, "en"):
                name = (narrative.text or "").strip()
                break
        if code:
            found[code] = name
    return found


def known(codelist: str, code: str) -> bool:
    return code in names(codelist)


def available() -> list[str]:
    return sorted(path.stem for path in FOLDER.glob("*.xml"))
