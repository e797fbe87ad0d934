"""The committed sample files of tests/imports/files/, and how they were made
(``python -m tests.imports.samples`` writes them again).

Both have Chinese headers and the same story, line by line (line 1 is the header):

2–4  three good rows: new customers 王芳, 张伟, 刘洋 with new cars
5    a bad mobile (10 digits)
6    a VIN whose check digit (9th character) is wrong
7    the VIN of line 2 again, with another customer's mobile
8    李雷 (13912345678), who the store already has, now in 北京, with her car
     ``EXISTING_VIN`` (the tests create both first)

``customers_gbk.csv`` is a vehicle file (owners and cars) saved as GBK, as
Chinese Excel saves "CSV"; ``orders.xlsx`` is a repair-order file (an order a
row, with its car and owner).
"""

import datetime
from pathlib import Path

from crm.validators import vin_check_digit

FILES = Path(__file__).resolve().parent / "files"
CSV_PATH = FILES / "customers_gbk.csv"
XLSX_PATH = FILES / "orders.xlsx"


def vin(serial: int) -> str:
    body = f"LSVAB2AT0NS{serial:06d}"
    return body[:8] + vin_check_digit(body) + body[9:]


VIN_1, VIN_2, VIN_3, EXISTING_VIN = vin(101), vin(102), vin(103), vin(104)
_bad = vin(105)
BAD_VIN = _bad[:8] + ("0" if _bad[8] != "0" else "1") + _bad[9:]
EXISTING_PHONE = "13912345678"

VEHICLE_HEADER = ["客户姓名", "手机号", "性别", "城市", "车架号", "车牌号", "车型", "购车日期", "里程"]
VEHICLE_ROWS = [
    ["王芳", "13800000001", "女", "上海", VIN_1, "沪A10001", "帕萨特", "2023-05-01", "12000"],
    ["张伟", "13800000002", "男", "上海", VIN_2, "沪B20002", "大众 途观L", "2022/8/15", "30500"],
    ["刘洋", "13800000003", "男", "苏州", VIN_3, "苏E30003", "帕萨特", "2024年1月20日", ""],
    ["赵敏", "1380000000", "女", "上海", vin(106), "沪A10005", "帕萨特", "2023-06-01", ""],
    ["钱进", "13800000005", "男", "上海", BAD_VIN, "沪A10006", "帕萨特", "2023-06-02", ""],
    ["孙丽", "13800000006", "女", "上海", VIN_1, "沪A10007", "帕萨特", "2023-06-03", ""],
    ["李雷", EXISTING_PHONE, "男", "北京", EXISTING_VIN, "沪AD12345", "帕萨特", "2024-03-15", ""],
]

ORDER_HEADER = [
    "工单号",
    "客户姓名",
    "手机",
    "城市",
    "车架号",
    "车牌号",
    "车型",
    "购车日期",
    "进厂日期",
    "结算日期",
    "里程",
    "维修类型",
    "维修项目",
    "工时费",
    "材料费",
]
D = datetime.datetime
ORDER_ROWS = [
    ["RO2025001", "王芳", "13800000001", "上海", VIN_1, "沪A10001", "帕萨特", datetime.date(2023, 5, 1),
     D(2025, 3, 10, 9, 30), D(2025, 3, 10, 16, 0), 15000, "保养", "常规保养", 300, 450.5],
    ["RO2025002", "张伟", "13800000002", "上海", VIN_2, "沪B20002", "大众 途观L", datetime.date(2022, 8, 15),
     D(2025, 4, 2, 10, 0), D(2025, 4, 3, 11, 0), 41000, "维修", "更换刹车片", 200, 880],
    ["RO2025003", "刘洋", "13800000003", "苏州", VIN_3, "苏E30003", "帕萨特", datetime.date(2024, 1, 20),
     D(2025, 5, 6, 8, 45), D(2025, 5, 6, 12, 0), 8000, "首保", "首次保养", 0, 399],
    ["RO2025004", "赵敏", "1380000000", "上海", vin(106), "沪A10005", "帕萨特", datetime.date(2023, 6, 1),
     D(2025, 5, 7, 9, 0), D(2025, 5, 7, 10, 0), 9000, "保养", "", 100, 200],
    ["RO2025005", "钱进", "13800000005", "上海", BAD_VIN, "沪A10006", "帕萨特", datetime.date(2023, 6, 2),
     D(2025, 5, 8, 9, 0), D(2025, 5, 8, 10, 0), 9500, "保养", "", 100, 200],
    ["RO2025006", "孙丽", "13800000006", "上海", VIN_1, "沪A10007", "帕萨特", datetime.date(2023, 6, 3),
     D(2025, 5, 9, 9, 0), D(2025, 5, 9, 10, 0), 16000, "保养", "", 100, 200],
    ["RO2025007", "李雷", EXISTING_PHONE, "北京", EXISTING_VIN, "沪AD12345", "帕萨特", datetime.date(2024, 3, 15),
     D(2025, 6, 1, 14, 0), D(2025, 6, 1, 17, 30), 20000, "维修", "空调检修", 150, 0],
]  # fmt: skip


def write_samples() -> None:
    import csv

    from openpyxl import Workbook

    FILES.mkdir(exist_ok=True)
    with open(CSV_PATH, "w", encoding="gbk", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(VEHICLE_HEADER)
        writer.writerows(VEHICLE_ROWS)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "工单"
    sheet.append(ORDER_HEADER)
    for row in ORDER_ROWS:
        sheet.append(row)
    workbook.save(XLSX_PATH)


if __name__ == "__main__":
    write_samples()
