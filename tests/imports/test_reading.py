"""Reading uploads in a stream: encodings of CSV exports, and the header guess."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from imports.fields import guess_mapping
from imports.models import ImportKind
from imports.reading import detect_encoding, open_table
from tests.imports.samples import CSV_PATH, ORDER_HEADER, VEHICLE_HEADER, XLSX_PATH


def test_a_gbk_csv_from_chinese_excel_is_read_as_gb18030():
    table = open_table(CSV_PATH, "csv")
    assert table.encoding == "gb18030"
    assert table.header == VEHICLE_HEADER
    lines = [line for line, _values in table.rows()]
    assert lines == [2, 3, 4, 5, 6, 7, 8]
    first = next(table.rows())[1]
    assert first[:2] == ["王芳", "13800000001"]


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        ("客户姓名,手机\n王芳,13800000001\n".encode("utf-8-sig"), "utf-8-sig"),
        ("客户姓名,手机\n王芳,13800000001\n".encode(), "utf-8-sig"),
        ("客户姓名,手机\n王芳,13800000001\n".encode("gbk"), "gb18030"),
    ],
)
def test_csv_encodings_utf8_with_or_without_bom_and_gbk(tmp_path, data, encoding):
    path = tmp_path / "x.csv"
    path.write_bytes(data)
    table = open_table(path, "csv")
    assert table.encoding == encoding
    assert table.header == ["客户姓名", "手机"]
    assert list(table.rows()) == [(2, ["王芳", "13800000001"])]


def test_a_multibyte_character_cut_by_the_sample_is_not_an_encoding_error():
    sample = "王芳".encode()[:-1]
    assert detect_encoding(sample) == "utf-8-sig"


def test_an_xlsx_streams_its_first_sheet_with_dates_as_dates():
    table = open_table(XLSX_PATH, "xlsx")
    assert table.header == ORDER_HEADER
    line, values = next(table.rows())
    assert line == 2
    assert values[0] == "RO2025001"
    assert values[8] == datetime.datetime(2025, 3, 10, 9, 30)
    assert table.count_rows() == 7


def test_a_file_that_is_not_a_workbook_is_refused_with_a_reason(tmp_path):
    path = tmp_path / "x.xlsx"
    path.write_bytes(b"not a zip")
    with pytest.raises(ValidationError) as exc:
        open_table(path, "xlsx")
    assert exc.value.code == "bad_xlsx"


def test_the_mapping_is_guessed_from_chinese_headers():
    assert guess_mapping(VEHICLE_HEADER, ImportKind.VEHICLES) == {
        "name": "客户姓名",
        "phone": "手机号",
        "gender": "性别",
        "city": "城市",
        "vin": "车架号",
        "plate_number": "车牌号",
        "model": "车型",
        "purchase_date": "购车日期",
        "mileage": "里程",
    }
    assert guess_mapping(ORDER_HEADER, ImportKind.REPAIR_ORDERS) == {
        "number": "工单号",
        "name": "客户姓名",
        "phone": "手机",
        "city": "城市",
        "vin": "车架号",
        "plate_number": "车牌号",
        "model": "车型",
        "purchase_date": "购车日期",
        "opened_at": "进厂日期",
        "closed_at": "结算日期",
        "mileage": "里程",
        "kind": "维修类型",
        "work_done": "维修项目",
        "labor_amount": "工时费",
        "parts_amount": "材料费",
    }


def test_the_mapping_is_guessed_from_english_and_decorated_headers():
    header = ["Customer Name", "Mobile Phone", "VIN", "Plate No.", "RO Number", "Opened", "Mileage", "Type"]
    assert guess_mapping(header, ImportKind.REPAIR_ORDERS) == {
        "name": "Customer Name",
        "phone": "Mobile Phone",
        "vin": "VIN",
        "plate_number": "Plate No.",
        "number": "RO Number",
        "opened_at": "Opened",
        "mileage": "Mileage",
        "kind": "Type",
    }
    assert guess_mapping(["联系电话", "姓名"], ImportKind.CUSTOMERS) == {"phone": "联系电话", "name": "姓名"}
    # Units, "required" marks and numbering around a known name.
    assert guess_mapping(["手机号码(必填)*", "工时费（元）", "客户姓名1"], ImportKind.REPAIR_ORDERS) == {
        "phone": "手机号码(必填)*",
        "labor_amount": "工时费（元）",
        "name": "客户姓名1",
    }
