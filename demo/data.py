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
    # Business hours (the complaint SLA clocks count them): ISO weekday digits.
    open_weekdays: str = "1234567"
    # The day-3 survey call goes to another advisor than the customer's own.
    surveys_by_other_advisor: bool = False


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
        # The park's store closes on Sundays: Monday to Saturday, 08:30–18:00.
        open_weekdays="123456",
        surveys_by_other_advisor=True,
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

# --- The workshop's technicians -----------------------------------------------------

TECHNICIANS_PER_STORE = 5
# Who works an order, by weight: the first of a store's technicians is its
# senior (主修) and takes the most jobs.
TECHNICIAN_WEIGHTS = (30, 22, 20, 16, 12)
# Orders of these kinds are worked in the bays by a technician; accessories are
# fitted and events run by others.
WORKSHOP_KINDS = ("maintenance", "repair", "warranty", "accident", "bodywork")

# --- Complaints -------------------------------------------------------------------------

# Share of the customers with a visit in the last year who complained in it (the
# seeds' "a few per thousand visits": about one customer in fifty).
COMPLAINT_RATE = 0.02
# Category codes of complaints.ComplaintCategory (its migration's defaults), by weight.
COMPLAINT_CATEGORIES = _pairs(
    "repair_quality:26 waiting_time:18 price:16 attitude:10 repeat_repair:8 parts:8 broken_promise:7 "
    "environment:4 other:3"
)
# Categories about the work in the bay: the case names the order's technician,
# not a member of staff. The others are about the order's advisor.
WORKSHOP_CATEGORIES = ("repair_quality", "repeat_repair", "parts")
FRONT_DESK_CATEGORIES = tuple(
    (code, weight) for code, weight in COMPLAINT_CATEGORIES if code not in WORKSHOP_CATEGORIES
)
COMPLAINT_CHANNELS = _pairs(
    "hotline:24 in_person:24 follow_up_call:20 wechat:12 online_form:8 carmaker_hotline:7 suggestion_box:5"
)
COMPLAINT_SEVERITIES = _pairs("normal:72 escalated:17 major:9 urgent:2")
# What a customer who is still not satisfied says when the case is reopened.
REOPEN_REASONS = (
    "客户来电：问题处理后又出现了，要求重新检查。",
    "回访时客户表示问题没有彻底解决。",
)


@dataclass(frozen=True)
class ComplaintStory:
    """One believable case from first call to lesson: what each step records."""

    category: str
    description: str
    demand: str
    findings: str
    cause: str
    remedy: str
    answer: str
    action: str
    follow_up: str
    lesson: str
    # Goodwill in yuan (0: none), and what the case may wait on while the remedy is prepared.
    goodwill: tuple[int, int] = (0, 0)
    waits_on: str = ""
    wait_reason: str = ""


COMPLAINT_STORIES = (
    ComplaintStory(
        "repair_quality",
        "保养后第二天仪表盘机油压力灯亮起，客户担心发动机受损。",
        "免费检查，给出书面说明。",
        "复检发现机油滤清器未拧紧，有轻微渗油，机油液位偏低。",
        "技师作业后未按规范复紧机滤，终检漏项。",
        "免费更换机滤、补足机油，赠送一次免费保养。",
        "客户同意处理方案。",
        "已更换机滤并补足机油，路试后无渗漏。",
        "三日回访：仪表正常，无渗漏，客户满意。",
        "保养终检表增加机滤扭矩确认项，由质检员签字。",
        goodwill=(300, 600),
    ),
    ComplaintStory(
        "repair_quality",
        "空调维修后出风口异响仍在，客户认为没修好还收了钱。",
        "彻底修好，退还上次工时费。",
        "复查为鼓风机轴承磨损，上次只更换了空调滤芯。",
        "诊断不充分，未按故障树逐项排查。",
        "免费更换鼓风机电机，退还上次诊断工时费。",
        "客户同意，要求尽快处理。",
        "已更换鼓风机电机，异响消除，工时费已退还。",
        "一周后回访：空调工作正常。",
        "空调异响类故障交车前须由主修技师试车确认。",
        goodwill=(200, 500),
        waits_on="parts",
        wait_reason="鼓风机电机需从中心库调货",
    ),
    ComplaintStory(
        "repair_quality",
        "取车时发现驾驶侧车门内饰板有新划痕。",
        "修复划痕。",
        "对照接车照片，划痕为拆装门板时工具刮伤。",
        "拆装内饰未使用塑料撬板，未铺保护垫。",
        "免费更换门板饰条并致歉。",
        "客户同意更换。",
        "已更换门板饰条。",
        "客户确认外观已恢复。",
        "内饰拆装一律使用专用撬板并铺设保护垫，接车环检照片留存。",
        goodwill=(150, 400),
        waits_on="parts",
        wait_reason="饰条订货中",
    ),
    ComplaintStory(
        "waiting_time",
        "预约了上午九点保养，到店后等了近四个小时才交车。",
        "解释原因，以后预约要准时。",
        "当日工位排满，预约车辆未被优先派工。",
        "前台预约与车间派工未同步，预约车辆没有预留工位。",
        "致歉并赠送两次免费洗车，下次保养优先派工。",
        "客户接受道歉。",
        "已致电致歉，洗车券已发放。",
        "客户下次到店已优先安排，四十分钟交车。",
        "每日早会核对预约清单，预约车辆预留快保工位。",
        goodwill=(50, 150),
    ),
    ComplaintStory(
        "waiting_time",
        "维修承诺一周交车，拖了十几天还没修好，也没人主动告知进度。",
        "尽快交车，提供代步车。",
        "保险定损延误，配件晚到五天。",
        "进度未及时告知客户，交车时间承诺未留余量。",
        "提供代步车至交车，每两天主动通报进度。",
        "客户同意，希望按新时间交车。",
        "已安排代步车，配件到货后三日内交车。",
        "交车后回访：客户对代步车安排满意。",
        "交车时间在配件到货确认后再承诺，进度每两天主动告知客户。",
        goodwill=(300, 800),
        waits_on="parts",
        wait_reason="配件在途，预计三天到货",
    ),
    ComplaintStory(
        "price",
        "结算金额比报价高出近八百元，事先没有告知。",
        "说明增项并退还未经同意的费用。",
        "增加了刹车油更换和节气门清洗，未取得客户签字确认。",
        "增项作业未执行客户确认流程。",
        "退还未经确认的增项费用。",
        "客户同意退款方案。",
        "已退还增项费用。",
        "客户已收到退款，表示理解。",
        "增项必须电话确认，并在派工单上记录确认时间和人员。",
        goodwill=(500, 800),
    ),
    ComplaintStory(
        "price",
        "同样的保养项目比别的店贵很多，怀疑乱收费。",
        "给出价格明细。",
        "价格符合厂家指导价，但顾问未说明项目与配件差异。",
        "报价时未逐项解释项目明细。",
        "逐项说明价格构成，赠送保养套餐折扣券。",
        "客户接受解释。",
        "已面谈说明并发放折扣券。",
        "客户办理了保养套餐。",
        "报价单附项目说明，顾问培训价格沟通话术。",
        goodwill=(100, 200),
        waits_on="customer",
        wait_reason="等客户方便时到店面谈",
    ),
    ComplaintStory(
        "attitude",
        "服务顾问接待时一直看手机，问问题时态度敷衍。",
        "要求道歉，换一位顾问。",
        "调取监控属实，当日高峰时段顾问同时接待三位客户。",
        "顾问服务意识不足，高峰时段前台人手不够。",
        "经理当面致歉，为客户更换专属顾问。",
        "客户接受道歉。",
        "经理已当面致歉，专属顾问已调整。",
        "回访：客户对新顾问满意。",
        "高峰时段增加前台人手，接待规范纳入月度考核。",
    ),
    ComplaintStory(
        "repeat_repair",
        "同一个底盘异响第三次来店，还是没有解决。",
        "一次修好，否则要求厂家介入。",
        "异响来自右前下摆臂胶套老化，前两次只做了紧固。",
        "首次诊断未找到根本原因，没有执行返修升级流程。",
        "由技术经理主修，更换下摆臂总成，该项质保延长一年。",
        "客户同意，要求修后陪同试车。",
        "已更换下摆臂总成，陪同路试无异响。",
        "两周后回访：无异响。",
        "同一故障第二次返修即升级技术经理诊断，并记录返修原因。",
        goodwill=(300, 1000),
        waits_on="parts",
        wait_reason="下摆臂总成需向厂家订货",
    ),
    ComplaintStory(
        "parts",
        "更换的刹车片不到两个月就有异响，怀疑不是原厂件。",
        "出示配件来源，更换原厂件。",
        "配件为原厂件，异响由刹车盘磨损不均引起。",
        "更换刹车片时未测量刹车盘厚度与跳动。",
        "免费光盘并更换刹车片，提供配件出库单。",
        "客户同意。",
        "已光盘并更换刹车片，出库单已交客户。",
        "回访：制动无异响。",
        "更换刹车片必须测量刹车盘并记入派工单。",
        goodwill=(200, 400),
    ),
    ComplaintStory(
        "broken_promise",
        "买车时承诺首保免费，结算时却收了工时费。",
        "按承诺退还工时费。",
        "销售合同写明首保免费，系统未录入首保权益。",
        "新车交付时权益未录入系统。",
        "退还工时费并补录权益。",
        "客户同意。",
        "已退还工时费，权益已补录。",
        "客户确认收到退款。",
        "新车交付清单增加权益录入核对，由销售与服务双签。",
    ),
    ComplaintStory(
        "environment",
        "休息区空调坏了，等车时又闷又热，也没有饮用水。",
        "改善休息区。",
        "休息区空调故障一周未修，饮水机缺水。",
        "设施日常巡检无人负责。",
        "修好空调、增设饮水点，赠送洗车券致歉。",
        "客户表示理解。",
        "空调已修好，饮水点已增设。",
        "回访：客户下次到店体验良好。",
        "休息区设施纳入每日开店巡检表。",
        goodwill=(30, 80),
    ),
    ComplaintStory(
        "other",
        "保养后座椅位置和收音机频道都被调乱了。",
        "以后注意。",
        "作业时调整了座椅，交车前未恢复。",
        "交车检查未包括恢复客户设置。",
        "致歉，交车检查表增加恢复项。",
        "客户接受道歉。",
        "已致电致歉。",
        "回访：客户满意。",
        "交车前恢复座椅与多媒体设置，纳入交车检查表。",
    ),
)
# Notes the handler writes on the first call to the customer.
CONTACT_NOTES = ("已致电客户致歉，说明处理流程和时限。", "已与客户通话，约定复检时间。", "已加客户微信，告知处理进度。")


# --- Surveys (demo.services.surveys) ---------------------------------------------

# The store whose day-3 call leaves maintenance visits to the SMS survey.
SURVEY_BY_SMS_STORE = "shpd"
SURVEY_DAYS = 70
# The invitations are replayed one morning a fortnight of those days (each morning's
# run costs its statements; the seed must stay a bounded number of queries).
SURVEY_EVERY_DAYS = 14
# Share of the SMS links answered (one in four after a visit, as SMS surveys go; fewer lapsed).
SURVEY_ANSWERED = {"post_service": 0.25, "lapsed": 0.1}
SURVEY_CSAT = _pairs("5:55 4:28 3:10 2:5 1:2")
SURVEY_NPS = {
    "post_service": _pairs("10:34 9:22 8:15 7:10 6:7 5:4 4:3 3:2 2:1 1:1 0:1"),
    # Those who stopped coming recommend us less: the churn-adjusted NPS shows it.
    "lapsed": _pairs("10:8 9:10 8:14 7:15 6:14 5:11 4:9 3:7 2:5 1:3 0:4"),
}
# Who writes a comment: most of the unhappy, some of the others.
SURVEY_COMMENT_SHARE = {"detractor": 0.6, "other": 0.2}
SURVEY_COMMENTS_UNHAPPY = (
    "等了快三个小时才交车，也没人告诉进度",
    "保养价格比外面贵太多了",
    "上次说好的免费检查结果还是收费了",
    "洗车没洗干净，车里还有烟味",
    "电话预约了到店还要排队",
    "修完第二天同样的问题又出现了",
)
SURVEY_COMMENTS_HAPPY = (
    "顾问很耐心，讲解得很清楚",
    "师傅很专业，效率也高",
    "休息区环境不错，还有免费咖啡",
    "提前提醒保养，很贴心",
    "交车很准时，车也洗得很干净",
)
