"""Static lists the demo generator draws from.

Plain data only: no Django imports, no randomness. Weights are relative and
only need to be positive; ``random.Random.choices`` normalises them.
"""

from dataclasses import dataclass


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _pairs(text: str) -> tuple[tuple[str, int], ...]:
    """``"王:60 李:55"`` → ``(("王", 60), ("李", 55))``: long lists of (name, weight or price) stay readable."""
    return tuple((name, int(weight)) for name, weight in (item.split(":") for item in _words(text)))


# --- The dealer group ----------------------------------------------------------


@dataclass(frozen=True)
class District:
    name: str
    # GB/T 2260 code used as the first six digits of ID numbers issued there.
    region_code: str
    weight: int
    roads: tuple[str, ...]


@dataclass(frozen=True)
class StoreSpec:
    code: str
    name: str
    province: str
    city: str
    address: str
    booking_phone: str
    rescue_phone: str
    # Plate prefix (province character plus the city letters in use there).
    plate_province: str
    plate_letters: str
    # Brands the store sells new; customers who bought here drive one of these.
    brands: tuple[str, ...]
    # Share of the group's customers served by this store.
    weight: int
    districts: tuple[District, ...]


_SHANGHAI_DISTRICTS_AROUND_PUDONG = (
    District("浦东新区", "310115", 60, ("张杨路", "世纪大道", "川沙路", "锦绣路", "东方路", "浦东南路", "金桥路")),
    District("黄浦区", "310101", 8, ("中山南路", "西藏南路", "南京东路")),
    District("杨浦区", "310110", 8, ("控江路", "国权路", "黄兴路")),
    District("徐汇区", "310104", 6, ("漕溪北路", "天钥桥路", "龙华中路")),
    District("静安区", "310106", 6, ("共和新路", "延长中路")),
    District("奉贤区", "310120", 6, ("南桥路", "解放东路")),
    District("闵行区", "310112", 6, ("莘松路", "七莘路")),
)

_SHANGHAI_DISTRICTS_AROUND_MINHANG = (
    District("闵行区", "310112", 55, ("莘松路", "沪闵路", "七莘路", "虹梅南路", "都市路", "莲花南路")),
    District("徐汇区", "310104", 12, ("漕溪北路", "天钥桥路", "宜山路", "龙华中路")),
    District("松江区", "310117", 10, ("人民北路", "荣乐东路", "谷阳北路")),
    District("长宁区", "310105", 8, ("天山路", "仙霞路")),
    District("普陀区", "310107", 5, ("真北路", "武宁路")),
    District("奉贤区", "310120", 5, ("南桥路", "解放东路")),
    District("浦东新区", "310115", 5, ("张杨路", "东方路")),
)

_SUZHOU_DISTRICTS = (
    # The park is a functional zone without its own ID region code; residents
    # registered there carry Wuzhong's 320506.
    District("工业园区", "320506", 55, ("星湖街", "现代大道", "金鸡湖大道", "苏州大道东", "星海街")),
    District("吴中区", "320506", 12, ("东吴北路", "宝带东路", "吴中大道")),
    District("姑苏区", "320508", 10, ("人民路", "干将东路", "十全街")),
    District("相城区", "320507", 8, ("相城大道", "阳澄湖路")),
    District("虎丘区", "320505", 8, ("狮山路", "长江路")),
    District("昆山市", "320583", 7, ("前进中路", "萧林路")),
)

STORES = (
    StoreSpec(
        code="shpd",
        name="上海浦东4S店",
        province="上海",
        city="上海",
        address="上海市浦东新区川沙路1888号",
        booking_phone="021-58881234",
        rescue_phone="400-821-6601",
        plate_province="沪",
        plate_letters="ABDEFGHJKLMN",
        brands=("大众", "比亚迪", "特斯拉", "别克"),
        weight=40,
        districts=_SHANGHAI_DISTRICTS_AROUND_PUDONG,
    ),
    StoreSpec(
        code="shmh",
        name="上海闵行4S店",
        province="上海",
        city="上海",
        address="上海市闵行区沪闵路6088号",
        booking_phone="021-64301234",
        rescue_phone="400-821-6602",
        plate_province="沪",
        plate_letters="ABDEFGHJKLMN",
        brands=("丰田", "本田", "宝马", "奔驰"),
        weight=35,
        districts=_SHANGHAI_DISTRICTS_AROUND_MINHANG,
    ),
    StoreSpec(
        code="szip",
        name="苏州工业园区4S店",
        province="江苏",
        city="苏州",
        address="苏州市工业园区星湖街328号",
        booking_phone="0512-62881234",
        rescue_phone="400-821-6603",
        plate_province="苏",
        plate_letters="E",
        brands=("大众", "丰田", "吉利", "比亚迪"),
        weight=25,
        districts=_SUZHOU_DISTRICTS,
    ),
)

SUZHOU_ESTATES = ("湖东花园", "星湖苑", "翰林缘", "玲珑湾", "海德公园", "东湖林语", "苏州中心公寓")

# --- The catalogue -----------------------------------------------------------------


@dataclass(frozen=True)
class ModelSpec:
    brand: str
    name: str
    vehicle_class: str
    energy: str
    first_maintenance_km: int
    first_maintenance_months: int
    maintenance_interval_km: int
    maintenance_interval_months: int
    warranty_months: int
    warranty_km: int
    # VIN parts: world manufacturer code, descriptor section (positions 4–8)
    # and plant code (position 11).
    wmi: str
    vds: str
    plant: str
    engine_prefix: str
    # How often the model is sold, and how dear its parts and labour are.
    weight: int
    price_factor: float


# One row per model, in ModelSpec's field order:
# brand, model, class, energy, first maintenance km / months, then every km / months,
# warranty months / km, WMI, VDS, plant, engine prefix, sales weight, price factor.
# fmt: off
_MODEL_ROWS = (
    ("大众", "帕萨特", "sedan", "petrol", 7500, 6, 10000, 12, 36, 100000, "LSV", "AB2A3", "N", "DKV", 14, 1.0),
    ("大众", "途观L", "suv", "petrol", 7500, 6, 10000, 12, 36, 100000, "LSV", "UA6C2", "N", "DKX", 12, 1.05),
    ("丰田", "凯美瑞", "sedan", "petrol", 5000, 6, 10000, 6, 36, 100000, "LVG", "BF1K4", "G", "A25A", 12, 1.0),
    ("丰田", "卡罗拉双擎", "sedan", "hybrid", 5000, 6, 10000, 6, 36, 100000, "LVG", "BE9H5", "G", "8ZR", 8, 0.85),
    ("本田", "雅阁", "sedan", "petrol", 5000, 6, 10000, 12, 36, 100000, "LHG", "CV162", "4", "L15B", 9, 0.95),
    ("别克", "GL8", "mpv", "petrol", 5000, 6, 7500, 6, 36, 100000, "LSG", "UL8E3", "S", "LXT", 7, 1.15),
    ("宝马", "3系", "sedan", "petrol", 10000, 12, 10000, 12, 36, 100000, "LBV", "5U590", "S", "B48", 7, 1.8),
    ("奔驰", "C级", "sedan", "petrol", 10000, 12, 10000, 12, 36, 100000, "LE4", "ZG8DB", "L", "M254", 6, 1.9),
    ("吉利", "星越L", "suv", "petrol", 5000, 6, 10000, 12, 36, 100000, "L6T", "7824Z", "N", "JLH", 7, 0.8),
    ("比亚迪", "汉EV", "sedan", "electric", 20000, 12, 20000, 12, 72, 150000, "LGX", "CE4C7", "1", "TZ220XS", 8, 0.7),
    ("比亚迪", "宋PLUS DM-i", "suv", "plugin", 7500, 6, 12000, 12, 72, 150000, "LGX", "C76C2", "3", "BYD472", 9, 0.75),
    ("特斯拉", "Model 3", "sedan", "electric", 20000, 12, 20000, 12, 48, 80000, "LRW", "3E7EK", "C", "3D1", 7, 0.7),
)
# fmt: on
MODELS = tuple(ModelSpec(*row) for row in _MODEL_ROWS)

USAGES = _pairs("private:85 official:7 commercial:8")

COLOURS = (("白色", 30), ("黑色", 25), ("灰色", 15), ("银色", 12), ("蓝色", 8), ("红色", 5), ("棕色", 3), ("绿色", 2))

INSURERS = (("中国人保", 30), ("平安保险", 30), ("太平洋保险", 20), ("大地保险", 8), ("中华联合", 6), ("阳光保险", 6))

# VIN position 10: the model-year code, 30 years per cycle from 1980 (and 2010).
VIN_YEAR_CODES = "ABCDEFGHJKLMNPRSTVWXY123456789"

# --- People ------------------------------------------------------------------------

# Common surnames with a Shanghai/Jiangsu lean (陆, 顾, 沈, 钱 are frequent there), "name:weight".
SURNAMES = _pairs(
    """
    王:60 李:55 张:55 刘:40 陈:45 杨:25 黄:22 赵:20 吴:25 周:25 徐:25 孙:15 马:10 朱:20 胡:15 郭:10 何:10
    高:10 林:10 罗:8 郑:8 梁:6 谢:8 宋:6 唐:8 许:8 韩:5 冯:5 邓:5 曹:6 彭:5 曾:4 肖:5 田:4 董:5 袁:5 潘:6
    蒋:8 蔡:7 杜:4 叶:6 程:5 苏:5 魏:4 吕:4 丁:5 沈:12 姚:6 陆:12 顾:12 钱:8 施:6 金:6 范:4 汪:5 倪:4 严:4
    欧阳:1
    """
)

MALE_GIVEN = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林晨阳毅峰建国文志伦翔"
FEMALE_GIVEN = "芳娜敏静丽艳娟霞秀英慧玲婷雪琳颖洁佳倩莉萍红燕梅蕾欣怡璐晶岚悦妍琪诗雯"

# Mainland mobile prefixes of the three carriers.
MOBILE_PREFIXES = _words(
    """
    133 135 136 137 138 139 150 151 152 155 156 157 158 159 166
    176 177 180 181 182 183 185 186 187 188 189 191 198 199
    """
)

# Blank means "not recorded".
OCCUPATIONS = (
    *_pairs(
        "enterprise:30 business_owner:12 teacher:8 civil_servant:7 doctor:6 driver:5 freelance:8 retired:6 "
        "soldier:1 student:2 other:7"
    ),
    ("", 8),
)

EMPLOYERS = {
    "teacher": ("实验中学", "外国语学校", "第二中学", "中心小学", "职业技术学院"),
    "doctor": ("人民医院", "中医医院", "社区卫生服务中心", "妇幼保健院"),
    "civil_servant": ("区税务局", "街道办事处", "区市场监管局"),
    "enterprise": ("科技有限公司", "电子有限公司", "物流有限公司", "银行支行", "贸易有限公司"),
}

EDUCATION = (("secondary", 20), ("college", 30), ("bachelor", 35), ("postgraduate", 10), ("", 5))
INCOME_BANDS = (("low", 15), ("middle", 50), ("high", 25), ("very_high", 5), ("", 5))
HOBBIES = ("钓鱼", "自驾游", "摄影", "跑步", "羽毛球", "高尔夫", "露营", "书法", "烹饪", "骑行", "登山", "看球")
CHANNELS = (("wechat", 45), ("call", 30), ("sms", 20), ("email", 5))
SOURCES = (("bought_here", 70), ("first_visit", 15), ("campaign", 8), ("referral", 7))

# --- Repair orders -------------------------------------------------------------------

# The labour line of each kind of order, and the parts it may use.
LABOUR_LINES = {
    "maintenance": "常规保养工时",
    "maintenance_ev": "电动车定期保养工时",
    "repair": "故障诊断与维修工时",
    "warranty": "保修索赔工时",
    "accident": "事故车钣喷工时",
    "bodywork": "局部补漆工时",
    "accessory": "加装工时",
    "activity": "免费安全检测",
}
PART_LINES = {
    "maintenance": ("全合成机油 5W-30", "机油滤清器", "空气滤清器", "空调滤芯"),
    "maintenance_ev": ("动力电池检测", "空调滤芯", "制动液"),
    "repair": ("前刹车片", "蓄电池", "雨刮片", "减震器", "轮胎"),
    "warranty": ("车窗升降器（保修）", "水泵总成（保修）", "中控屏总成（保修）"),
    "accident": ("前保险杠", "大灯总成", "左前翼子板"),
    "bodywork": ("抛光打蜡", "轮毂修复材料"),
    "accessory": ("全车贴膜", "行车记录仪", "全包围脚垫"),
    "activity": ("玻璃水", "空调清洗剂"),
}

# Work the technician recommends and the customer often turns down, with its quoted price in yuan.
DECLINED_WORK = _pairs(
    "刹车片更换:680 空调滤芯更换:180 四轮定位:260 轮胎更换:1600 蓄电池更换:750 节气门清洗:320 刹车油更换:380"
)

# Labour and parts ranges in yuan per kind, before the model's price factor.
AMOUNTS = {
    "maintenance": ((150, 400), (300, 1200)),
    "repair": ((200, 1500), (200, 4000)),
    "warranty": ((200, 800), (300, 3000)),
    "accident": ((500, 3000), (500, 8000)),
    "bodywork": ((300, 1500), (0, 800)),
    "accessory": ((0, 200), (300, 3000)),
    "activity": ((50, 150), (0, 100)),
}

# Visits that are not a due maintenance, by weight.
OTHER_KINDS = _pairs("repair:30 warranty:10 accident:12 bodywork:13 accessory:15 activity:20")

APPOINTMENT_NOTES = {
    "maintenance": ("预约常规保养", "预约保养并检查轮胎", "保养，客户需要代步车"),
    "repair": ("客户反映底盘异响，预约检查", "空调制冷效果差，预约检查"),
}

# --- Staff ---------------------------------------------------------------------------

DEMO_PASSWORD = "demo1234"
ADVISORS_PER_STORE = 3


# Where the demo's customers live, for severe-weather care: (latitude,
# longitude, QWeather LocationID).
WEATHER_LOCATIONS = {
    "上海": ("31.2304", "121.4737", "101020100"),
    "苏州": ("31.2989", "120.5853", "101190401"),
}
