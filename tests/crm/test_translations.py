"""Every user-facing string has a Chinese translation, compiled and in use."""

import gettext
import re
from pathlib import Path

from django.conf import settings

PO = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")

_ENTRY = re.compile(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?) "(.*)"$')


def read_po(path: Path) -> list[dict]:
    """A small .po reader: enough to list entries, their flags and translations."""
    entries, current, key, flags = [], {}, None, set()
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if current:
                entries.append({**current, "flags": flags})
            current, key, flags = {}, None, set()
        elif line.startswith("#,"):
            flags = {f.strip() for f in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif m := _ENTRY.match(line):
            key = m.group(1)
            current[key] = m.group(2)
        elif line.startswith('"') and key:
            current[key] += line[1:-1]
    return [e for e in entries if e.get("msgid")]


def test_every_string_is_translated_to_chinese():
    entries = read_po(PO)
    assert len(entries) > 200
    untranslated = [e["msgid"] for e in entries if not (e.get("msgstr") or e.get("msgstr[0]"))]
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e["flags"]]
    assert untranslated == []
    assert fuzzy == []


def test_compiled_catalogue_matches_the_po_file():
    with MO.open("rb") as fh:
        catalogue = gettext.GNUTranslations(fh)
    for entry in read_po(PO):
        if "msgid_plural" in entry:
            continue

        def text(key: str, entry=entry) -> str:
            return entry[key].encode().decode("unicode_escape").encode("latin-1").decode("utf-8")

        msgid, expected = text("msgid"), text("msgstr")
        # An entry with a context (pgettext) is looked up with it.
        found = catalogue.pgettext(text("msgctxt"), msgid) if "msgctxt" in entry else catalogue.gettext(msgid)
        assert found == expected, "run `make messages`: the .mo file is stale"
