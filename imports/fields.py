"""The fields an import can fill, the header names DMS exports give them
(Chinese and English), and how each cell is read.

A mapping is ``{field key: header text}``: kept by header text rather than by
column position, so that a store's saved profile still fits when next month's
export moves a column.
"""

import dataclasses
import datetime
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.validators import (
    normalize_mobile,
    normalize_plate,
    normalize_vin,
    validate_mobile,
    validate_plate,
    validate_vin,
)
from customers.models import Customer
from imports.models import ImportKind
from service.models import RepairOrder

C, V, R = ImportKind.CUSTOMERS, ImportKind.VEHICLES, ImportKind.REPAIR_ORDERS


class CellError(Exception):
    """A cell that cannot be read; the message says why, in the run's language."""


@dataclasses.dataclass(frozen=True)
class Field:
    key: str
    label: Promise
    synonyms: tuple[str, ...]
    kinds: tuple[str, ...]  # the kinds of file that use the field
    required: tuple[str, ...] = ()  # the kinds whose mapping must have it


FIELDS: tuple[Field, ...] = (
    # The owner.
    Field(
        "name",
        gettext_lazy("name"),
        (
            "客户姓名",
            "姓名",
            "客户名称",
            "客户名",
            "车主姓名",
            "车主",
            "送修人",
            "联系人",
            "name",
            "customername",
            "customer",
            "owner",
        ),
        (C, V, R),
        (C, V, R),
    ),
    Field(
        "phone",
        gettext_lazy("mobile"),
        (
            "手机",
            "手机号",
            "手机号码",
            "联系电话",
            "移动电话",
            "电话",
            "联系方式",
            "客户电话",
            "车主电话",
            "mobile",
            "phone",
            "mobilephone",
            "tel",
            "telephone",
        ),
        (C, V, R),
        (C, V, R),
    ),
    Field("gender", gettext_lazy("gender"), ("性别", "gender", "sex"), (C, V, R)),
    Field("city", gettext_lazy("city"), ("城市", "所在城市", "所在地", "city"), (C, V, R)),
    Field("address", gettext_lazy("home address"), ("地址", "联系地址", "家庭住址", "住址", "address"), (C, V, R)),
    Field("email", gettext_lazy("e-mail"), ("邮箱", "电子邮箱", "电子邮件", "email", "e-mail"), (C, V, R)),
    Field("birthday", gettext_lazy("birthday (solar)"), ("生日", "出生日期", "birthday", "dateofbirth"), (C, V, R)),
    Field(
        "marketing_consent",
        gettext_lazy("marketing consent"),
        ("营销同意", "同意营销", "接受营销", "营销许可", "marketingconsent", "consent"),
        (C, V, R),
    ),
    # The car.
    Field(
        "vin",
        gettext_lazy("VIN"),
        ("车架号", "vin", "vin码", "车辆识别代号", "车辆识别号", "底盘号", "vincode"),
        (V, R),
        (V, R),
    ),
    Field(
        "plate_number",
        gettext_lazy("plate number"),
        ("车牌号", "车牌", "车牌号码", "号牌号码", "plate", "platenumber", "licenseplate", "plateno"),
        (V, R),
    ),
    Field(
        "model", gettext_lazy("model"), ("车型", "车型名称", "车系", "车型代码", "model", "vehiclemodel"), (V, R), (V,)
    ),
    Field(
        "purchase_date",
        gettext_lazy("purchase date"),
        ("购车日期", "购买日期", "开票日期", "交车日期", "销售日期", "purchasedate", "deliverydate", "soldon"),
        (V, R),
        (V,),
    ),
    Field("colour", gettext_lazy("colour"), ("颜色", "车身颜色", "colour", "color"), (V, R)),
    Field(
        "engine_number", gettext_lazy("engine number"), ("发动机号", "发动机号码", "enginenumber", "engineno"), (V, R)
    ),
    # The order (or, in a vehicle file, the odometer today).
    # Labels are the models' own field names, so they read as on every other page.
    Field(
        "number",
        gettext_lazy("RO number"),
        (
            "工单号",
            "工单编号",
            "维修工单号",
            "派工单号",
            "委托书号",
            "ro",
            "ronumber",
            "repairorder",
            "ordernumber",
            "orderno",
        ),
        (R,),
        (R,),
    ),
    Field(
        "opened_at",
        gettext_lazy("opened at"),
        ("进厂日期", "进厂时间", "开单日期", "开单时间", "接车日期", "opened", "openedat", "datein"),
        (R,),
        (R,),
    ),
    Field(
        "closed_at",
        gettext_lazy("closed at"),
        ("结算日期", "结算时间", "出厂日期", "出厂时间", "完工日期", "closed", "closedat", "settled", "dateout"),
        (R,),
    ),
    Field(
        "mileage",
        gettext_lazy("mileage (km)"),
        ("里程", "进厂里程", "行驶里程", "当前里程", "表显里程", "公里数", "mileage", "odometer", "km"),
        (V, R),
        (R,),
    ),
    Field(
        "kind",
        gettext_lazy("kind"),
        ("维修类型", "工单类型", "业务类型", "维修类别", "维修性质", "kind", "type", "rotype"),
        (R,),
        (R,),
    ),
    Field(
        "labor_amount",
        gettext_lazy("labour amount"),
        ("工时费", "工时费用", "工时金额", "工时", "labour", "labor", "labouramount"),
        (R,),
    ),
    Field(
        "parts_amount",
        gettext_lazy("parts amount"),
        ("材料费", "配件费", "材料金额", "配件金额", "材料", "parts", "partsamount"),
        (R,),
    ),
    Field(
        "work_done",
        gettext_lazy("work done"),
        ("维修项目", "维修内容", "作业内容", "工作内容", "workdone", "description"),
        (R,),
    ),
)
FIELDS_BY_KEY = {f.key: f for f in FIELDS}


def fields_for(kind: str) -> list[Field]:
    return [f for f in FIELDS if kind in f.kinds]


def _header_key(text: str) -> str:
    """``"手机号码(必填)*"`` → ``"手机号码"``; ``"RO Number"`` → ``"ronumber"``."""
    text = re.sub(r"[(（\[【].*?[)）\]】]", "", text or "")
    return re.sub(r"[\s*:：_\-/.#]", "", text).lower()


def guess_mapping(header: list[str], kind: str) -> dict[str, str]:
    """Which header cell each field of ``kind`` most likely is: an exact name
    first, then a header that starts with a known name (``手机号码1``), then one
    that contains it; each column goes to one field at most."""
    keys = [_header_key(h) for h in header]
    mapping: dict[str, str] = {}
    used: set[int] = set()
    candidates = fields_for(kind)
    for test in (
        lambda key, name: key == name,
        lambda key, name: key.startswith(name),
        lambda key, name: len(name) >= 2 and name in key,
    ):
        for field in candidates:
            if field.key in mapping:
                continue
            for name in field.synonyms:
                hit = next((i for i, key in enumerate(keys) if i not in used and key and test(key, name)), None)
                if hit is not None:
                    mapping[field.key] = header[hit]
                    used.add(hit)
                    break
    return mapping


def missing_required(mapping: dict[str, str], kind: str) -> list[Field]:
    return [f for f in fields_for(kind) if kind in f.required and not mapping.get(f.key)]


# --- Reading cells -------------------------------------------------------------------


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_name(value) -> str:
    text = re.sub(r"\s+", " ", _text(value))
    if len(text) > 50:
        raise CellError(_("The name is longer than 50 characters."))
    return text


def read_mobile(value) -> str:
    mobile = normalize_mobile(_text(value))
    try:
        validate_mobile(mobile)
    except ValidationError as exc:
        raise CellError(
            _("Bad mobile “%(value)s”: %(reason)s") % {"value": _text(value), "reason": exc.messages[0]}
        ) from None
    return mobile


def read_vin(value) -> str:
    vin = normalize_vin(_text(value))
    try:
        validate_vin(vin)
    except ValidationError as exc:
        raise CellError(
            _("Bad VIN “%(value)s”: %(reason)s") % {"value": _text(value), "reason": exc.messages[0]}
        ) from None
    return vin


def read_plate(value) -> str:
    plate = normalize_plate(_text(value))
    try:
        validate_plate(plate)
    except ValidationError as exc:
        raise CellError(
            _("Bad plate “%(value)s”: %(reason)s") % {"value": _text(value), "reason": exc.messages[0]}
        ) from None
    return plate


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")
_TIME_FORMATS = ("", " %H:%M", " %H:%M:%S", "T%H:%M", "T%H:%M:%S")
# Excel counts days from 1899-12-30 (a date cell read as a plain number).
_EXCEL_EPOCH = datetime.datetime(1899, 12, 30)


def _read_datetime(value) -> tuple[datetime.datetime, bool]:
    """A naive datetime, and whether the cell gave a time of day."""
    if isinstance(value, datetime.datetime):
        return value.replace(tzinfo=None), (value.hour, value.minute, value.second) != (0, 0, 0)
    if isinstance(value, datetime.date):
        return datetime.datetime.combine(value, datetime.time()), False
    if isinstance(value, int | float) and 20_000 < value < 80_000:
        moment = _EXCEL_EPOCH + datetime.timedelta(days=float(value))
        return moment.replace(microsecond=0), not float(value).is_integer()
    text = re.sub(r"\s+", " ", _text(value))
    for day_format in _DATE_FORMATS:
        for time_format in _TIME_FORMATS:
            try:
                return datetime.datetime.strptime(text, day_format + time_format), bool(time_format)
            except ValueError:
                continue
    raise CellError(_("“%(value)s” is not a date (write it as 2024-03-15).") % {"value": text})


def read_date(value) -> datetime.date:
    moment, _timed = _read_datetime(value)
    if not 1900 <= moment.year <= datetime.date.today().year + 1:
        raise CellError(_("The date %(value)s is out of range.") % {"value": moment.date().isoformat()})
    return moment.date()


def read_opened_at(value) -> datetime.datetime:
    moment, _timed = _read_datetime(value)
    return timezone.make_aware(moment)


def read_closed_at(value) -> datetime.datetime:
    """A settlement day without a time counts as the end of that day."""
    moment, timed = _read_datetime(value)
    if not timed:
        moment = moment.replace(hour=23, minute=59, second=0)
    return timezone.make_aware(moment)


def read_mileage(value) -> int:
    text = re.sub(r"[\s,，]|km|公里", "", _text(value).lower())
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise CellError(_("The mileage “%(value)s” is not a number of km.") % {"value": _text(value)}) from None
    if not number.is_finite() or number < 0 or number > 2_000_000:
        raise CellError(_("The mileage %(value)s km is not possible.") % {"value": text})
    return int(number)


def read_money(value) -> Decimal:
    text = re.sub(r"[\s,，¥￥]|元|rmb|cny", "", _text(value).lower())
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise CellError(_("The amount “%(value)s” is not a number of yuan.") % {"value": _text(value)}) from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("100000000"):
        raise CellError(_("The amount %(value)s is not possible.") % {"value": text})
    return amount.quantize(Decimal("0.01"))


_KIND_WORDS = {
    RepairOrder.Kind.MAINTENANCE: ("保养", "首保", "定保", "常规保养", "定期保养", "maintenance", "service"),
    RepairOrder.Kind.REPAIR: ("维修", "一般维修", "机修", "机电维修", "故障维修", "repair"),
    RepairOrder.Kind.WARRANTY: ("保修", "索赔", "三包", "质保", "warranty"),
    RepairOrder.Kind.ACCIDENT: ("事故", "事故车", "事故维修", "保险", "理赔", "accident", "insurance"),
    RepairOrder.Kind.BODYWORK: ("钣喷", "钣金", "喷漆", "钣金喷漆", "bodywork", "paint"),
    RepairOrder.Kind.ACCESSORY: ("精品", "加装", "装饰", "美容", "accessory", "accessories"),
    RepairOrder.Kind.ACTIVITY: ("活动", "免检", "检测活动", "activity", "event"),
}
_KINDS = {word: kind for kind, words in _KIND_WORDS.items() for word in (*words, kind)}


def read_kind(value) -> str:
    text = _text(value)
    kind = _KINDS.get(text.lower().replace(" ", ""))
    if kind is None:
        for label_kind, label in RepairOrder.Kind.choices:
            if text in (str(label), label_kind):
                return label_kind
        raise CellError(
            _("Unknown kind of work “%(value)s” (保养, 维修, 保修, 事故, 钣喷, 精品 or 活动).") % {"value": text}
        )
    return kind


_GENDERS = {
    "男": Customer.Gender.MALE,
    "男性": Customer.Gender.MALE,
    "先生": Customer.Gender.MALE,
    "m": Customer.Gender.MALE,
    "male": Customer.Gender.MALE,
    "女": Customer.Gender.FEMALE,
    "女性": Customer.Gender.FEMALE,
    "女士": Customer.Gender.FEMALE,
    "f": Customer.Gender.FEMALE,
    "female": Customer.Gender.FEMALE,
}


def read_gender(value) -> str:
    gender = _GENDERS.get(_text(value).lower())
    if gender is None:
        raise CellError(_("Unknown gender “%(value)s” (男 or 女).") % {"value": _text(value)})
    return gender


_YES = {"是", "同意", "y", "yes", "1", "true", "√", "✓", "接受"}
_NO = {"否", "不同意", "n", "no", "0", "false", "×", "拒绝"}


def read_consent(value) -> bool:
    text = _text(value).lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise CellError(_("Marketing consent “%(value)s” is neither yes (是) nor no (否).") % {"value": _text(value)})


def read_email(value) -> str:
    text = _text(value)
    try:
        validate_email(text)
    except ValidationError:
        raise CellError(_("Bad e-mail address “%(value)s”.") % {"value": text}) from None
    return text


def _limited(length: int) -> Callable:
    def read(value) -> str:
        text = _text(value)
        if len(text) > length:
            raise CellError(_("“%(value)s” is longer than %(length)d characters.") % {"value": text, "length": length})
        return text

    return read


READERS: dict[str, Callable] = {
    "name": read_name,
    "phone": read_mobile,
    "gender": read_gender,
    "city": _limited(50),
    "address": _limited(200),
    "email": read_email,
    "birthday": read_date,
    "marketing_consent": read_consent,
    "vin": read_vin,
    "plate_number": read_plate,
    "model": _limited(130),
    "purchase_date": read_date,
    "colour": _limited(20),
    "engine_number": _limited(30),
    "number": _limited(30),
    "opened_at": read_opened_at,
    "closed_at": read_closed_at,
    "mileage": read_mileage,
    "kind": read_kind,
    "labor_amount": read_money,
    "parts_amount": read_money,
    "work_done": _limited(2000),
}


def read_row(values: list, columns: dict[str, int]) -> tuple[dict, list[str]]:
    """The row's fields (only those given: a blank cell is "not given") and the
    reasons its cells could not be read."""
    data: dict = {}
    errors: list[str] = []
    for key, index in columns.items():
        value = values[index] if index < len(values) else None
        if _blank(value):
            continue
        try:
            data[key] = READERS[key](value)
        except CellError as exc:
            errors.append(str(exc))
    return data, errors


def is_blank(value) -> bool:
    return _blank(value)
