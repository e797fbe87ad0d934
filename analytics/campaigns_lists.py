"""The uploaded list of a list campaign: a CSV or XLSX of the store's customers
by mobile number or plate, one a row (the first filled cell of each row; a
header row such as 手机号 / 车牌 is skipped).

Every row is either matched to a customer who can be in a marketing campaign
or reported with its row number and why not (not a mobile or plate, nobody of
the store has it, several customers have it, not active, no marketing
consent, already on the list): the good rows are kept, the others shown to
the manager on the campaign's page.

XLSX is read with openpyxl in read-only mode (rows stream, the file is never
loaded whole); CSV as UTF-8 (with or without the byte-order mark Excel
writes), falling back to GB18030, which Chinese Excel writes by default and
which contains GBK. Matching is set-based: one query per kind of key (in
slices under SQLite's limit on parameters), not one per row.
"""

import csv
import dataclasses
import io
import zipfile
from collections.abc import Iterator

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from crm.models import Dealership
from crm.validators import MOBILE_RE, normalize_mobile, normalize_plate, validate_plate
from customers.models import Customer
from vehicles.models import Vehicle

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
# Reasons shown per row are capped: the counts stay exact.
MAX_REPORTED = 500
_SLICE = 900
HEADER_WORDS = ("手机", "电话", "车牌", "号码", "mobile", "phone", "plate", "tel")


class Reason:
    """Why a row was not added; kept as a code in the campaign, worded when shown."""

    EMPTY = "empty"
    NOT_A_KEY = "not_a_key"
    NO_MOBILE = "no_mobile"
    NO_PLATE = "no_plate"
    AMBIGUOUS = "ambiguous"
    INACTIVE = "inactive"
    NO_CONSENT = "no_consent"
    DUPLICATE = "duplicate"


def reason_text(reason: str, same_as: int | None = None) -> str:
    texts = {
        Reason.EMPTY: _("empty row"),
        Reason.NOT_A_KEY: _("not a mobile number or a plate"),
        Reason.NO_MOBILE: _("no customer of the store has this mobile"),
        Reason.NO_PLATE: _("no car of the store in use has this plate"),
        Reason.AMBIGUOUS: _("several customers have it: use the plate or fix the data"),
        Reason.INACTIVE: _("the customer is not active (moved away or deceased)"),
        Reason.NO_CONSENT: _("the customer has not agreed to marketing messages"),
        Reason.DUPLICATE: _("the same customer as row %(row)s") % {"row": same_as},
    }
    return texts.get(reason, reason)


@dataclasses.dataclass(frozen=True)
class ListProblem:
    row: int
    value: str
    reason: str  # a Reason
    same_as: int | None = None  # the row a duplicate repeats

    @property
    def text(self) -> str:
        return reason_text(self.reason, self.same_as)


@dataclasses.dataclass
class ListMatch:
    filename: str
    rows: int
    customer_ids: list[int]
    problems: list[ListProblem]

    @property
    def audience(self) -> dict:
        """What the campaign keeps of the upload (``Campaign.audience``)."""
        return {
            "customer_ids": self.customer_ids,
            "file": self.filename,
            "rows": self.rows,
            "unmatched_count": len(self.problems),
            "unmatched": [dataclasses.asdict(p) for p in self.problems[:MAX_REPORTED]],
        }


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a mobile typed as a number: 13912345678.0
    return str(value).strip()


def _first_filled(cells) -> str:
    for cell in cells:
        text = _cell_text(cell)
        if text:
            return text
    return ""


def _xlsx_rows(data: bytes) -> Iterator[str]:
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        for cells in sheet.iter_rows(values_only=True):
            yield _first_filled(cells)
    finally:
        workbook.close()


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise ValidationError(_("The file is neither UTF-8 nor GB18030 (GBK) text: save it again as CSV.")) from exc


def _csv_rows(data: bytes) -> Iterator[str]:
    text = _decode(data)
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    for cells in csv.reader(io.StringIO(text), delimiter=delimiter):
        yield _first_filled(cells)


def _read_values(upload) -> list[str]:
    """The first filled cell of every row (empty rows as ""), or ValidationError."""
    if upload is None:
        raise ValidationError(_("Choose a CSV or XLSX file of mobile numbers or plates."))
    if upload.size is not None and upload.size > MAX_BYTES:
        raise ValidationError(_("The file is larger than 5 MB: split it."))
    data = upload.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ValidationError(_("The file is larger than 5 MB: split it."))
    name = (upload.name or "").lower()
    if data.startswith(b"\xd0\xcf\x11\xe0") or name.endswith(".xls"):
        raise ValidationError(_("Old Excel files (.xls) cannot be read: save the list as .xlsx or .csv."))
    values: list[str] = []
    try:
        rows = _xlsx_rows(data) if data.startswith(b"PK\x03\x04") else _csv_rows(data)
        for value in rows:
            values.append(value)
            if len(values) > MAX_ROWS:
                raise ValidationError(_("The list has more than 20,000 rows: split it."))
    except ValidationError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError, IndexError, csv.Error) as exc:
        raise ValidationError(_("The file could not be read as CSV or XLSX.")) from exc
    while values and not values[-1]:
        values.pop()  # trailing empty rows are not rows of the list
    return values


def _is_header(value: str) -> bool:
    lowered = value.lower()
    return any(word in lowered for word in HEADER_WORDS)


def _key(value: str) -> tuple[str, str] | None:
    """("mobile", 13912345678) or ("plate", 沪AD12345), or None."""
    mobile = normalize_mobile(value)
    if MOBILE_RE.match(mobile):
        return "mobile", mobile
    plate = normalize_plate(value)
    try:
        validate_plate(plate)
    except ValidationError:
        return None
    return "plate", plate


def _owners(dealership: Dealership, kind: str, keys: list[str]) -> dict[str, list[tuple[int, str, bool]]]:
    """Key → [(customer id, status, marketing consent)] of the store's customers."""
    found: dict[str, list[tuple[int, str, bool]]] = {}
    for start in range(0, len(keys), _SLICE):
        chunk = keys[start : start + _SLICE]
        if kind == "mobile":
            rows = Customer.objects.filter(dealership=dealership, phone__in=chunk).values_list(
                "phone", "pk", "status", "marketing_consent"
            )
        else:
            rows = (
                Vehicle.objects.filter(
                    customer__dealership=dealership, plate_number__in=chunk, status=Vehicle.Status.ACTIVE
                )
                .values_list("plate_number", "customer_id", "customer__status", "customer__marketing_consent")
                .distinct()
            )
        for key, pk, status, consent in rows:
            found.setdefault(key, []).append((pk, status, consent))
    return found


def campaign_list_read(*, dealership: Dealership, upload) -> ListMatch:
    """Match an uploaded list to the store's customers; ValidationError when
    the file cannot be read or holds no row at all."""
    values = _read_values(upload)
    start = 1
    if values and _is_header(values[0]) and _key(values[0]) is None:
        start = 2
    keyed = [(number, value, _key(value)) for number, value in enumerate(values[start - 1 :], start=start)]
    if not keyed:
        raise ValidationError(_("The file holds no rows."))
    owners = {
        kind: _owners(dealership, kind, sorted({key[1] for _n, _v, key in keyed if key and key[0] == kind}))
        for kind in ("mobile", "plate")
    }
    seen: dict[int, int] = {}
    problems: list[ListProblem] = []
    for number, value, key in keyed:
        reason, same_as = "", None
        if not value:
            reason = Reason.EMPTY
        elif key is None:
            reason = Reason.NOT_A_KEY
        else:
            matches = owners[key[0]].get(key[1], [])
            if not matches:
                reason = Reason.NO_MOBILE if key[0] == "mobile" else Reason.NO_PLATE
            elif len({pk for pk, _s, _c in matches}) > 1:
                reason = Reason.AMBIGUOUS
            else:
                pk, status, consent = matches[0]
                if status != Customer.Status.ACTIVE:
                    reason = Reason.INACTIVE
                elif not consent:
                    reason = Reason.NO_CONSENT
                elif pk in seen:
                    reason, same_as = Reason.DUPLICATE, seen[pk]
                else:
                    seen[pk] = number
        if reason:
            problems.append(ListProblem(row=number, value=value[:40], reason=reason, same_as=same_as))
    return ListMatch(filename=(upload.name or "")[:100], rows=len(keyed), customer_ids=sorted(seen), problems=problems)
