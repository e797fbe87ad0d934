"""Default care rules for a fresh install: one group-wide rule per kind, with
Chinese scripts. Admins edit them, or add a dealership's own rule of the same
kind and name to override one store, in Django admin."""

from django.db import migrations

GREETING = "{name}{title}您好，我是{dealership}的服务顾问{advisor}。"
SIGN = "【{dealership}】"

RULES = [
    {
        "kind": "maintenance",
        "name": "定期保养提醒",
        "lead_days": 7,
        "expiry_days": 30,
        "priority": 70,
        "message_template": SIGN + "{name}{title}，您的爱车{plate}预计{due_date}前后需要保养，"
        "欢迎致电{booking_phone}预约，顾问{advisor}为您服务。",
        "call_script": GREETING + "您的{model}（{plate}）按时间和里程预计{due_date}前后需要保养，"
        "目前里程约{mileage}公里。请问您这周哪天方便？我帮您预约工位。",
    },
    {
        "kind": "mileage_milestone",
        "name": "里程节点检查",
        "lead_days": 7,
        "expiry_days": 30,
        "priority": 55,
        "params": {"milestones": [10000, 30000, 50000]},
        "message_template": SIGN + "{name}{title}，您的爱车{plate}即将行驶满{mileage}公里，建议到店做一次全面检查。",
        "call_script": GREETING + "您的爱车{plate}即将达到{mileage}公里，这是一个重要的检查节点，"
        "我们为您安排一次免费全面检查，您看什么时间方便？",
    },
    {
        "kind": "warranty_expiry",
        "name": "超保提醒",
        "lead_days": 30,
        "expiry_days": 7,
        "priority": 65,
        "message_template": SIGN + "{name}{title}，您的爱车{plate}的整车质保将于{due_date}到期，"
        "建议到期前到店免费检测，发现问题可在保修期内处理。",
        "call_script": GREETING + "您的{model}质保将于{due_date}到期。建议您在到期前来店做一次免费检测，"
        "如有质保范围内的问题可以免费处理。请问哪天方便？",
    },
    {
        "kind": "insurance",
        "name": "保险续保提醒",
        "lead_days": 45,
        "cadence_days": [45, 33, 30],
        "expiry_days": 0,
        "priority": 60,
        "message_template": SIGN + "{name}{title}，您的爱车{plate}的车险将于{due_date}到期，"
        "本店会员续保可享积分和理赔服务，详询{booking_phone}。",
        "call_script": GREETING + "您的爱车{plate}车险将于{due_date}到期。在本店续保可享会员积分、"
        "出险一站式理赔和代步车服务，我帮您做一份报价好吗？",
    },
    {
        "kind": "inspection",
        "name": "年检提醒",
        "lead_days": 30,
        "expiry_days": 0,
        "priority": 55,
        "message_template": SIGN + "{name}{title}，您的爱车{plate}应于{due_date}前完成年检，"
        "银卡及以上会员可免费代办。",
        "call_script": GREETING + "您的爱车{plate}年检截止日期是{due_date}。请带好行驶证、交强险保单和身份证，"
        "我们可以为您代办，需要预约吗？",
    },
    {
        "kind": "birthday",
        "name": "生日祝福",
        "channel": "sms",
        "lead_days": 0,
        "expiry_days": 0,
        "priority": 40,
        "params": {"solar": True, "lunar": True},
        "message_template": SIGN + "{name}{title}，今天是您的生日，{dealership}全体员工祝您生日快乐、一路平安！",
        "call_script": "",
    },
    {
        "kind": "holiday",
        "name": "节日问候",
        "channel": "sms",
        "lead_days": 0,
        "expiry_days": 0,
        "priority": 30,
        "message_template": SIGN + "{name}{title}，{item}快乐！出行前别忘了检查轮胎和灯光，"
        "24小时救援电话{rescue_phone}。",
        "call_script": "",
    },
    {
        "kind": "new_car_day3",
        "name": "新车三日回访",
        "lead_days": 0,
        "expiry_days": 4,
        "priority": 75,
        "params": {"days": 3},
        "message_template": "",
        "call_script": GREETING + "感谢您选择我们，新车用了三天感觉怎么样？手续和资料都齐全吗？"
        "仪表盘有没有亮起的警告灯？首次保养时间是{due_date}前后，预约电话{booking_phone}。",
    },
    {
        "kind": "new_car_day7",
        "name": "新车七日问卷",
        "lead_days": 0,
        "expiry_days": 7,
        "priority": 60,
        "params": {"days": 7},
        "message_template": "",
        "call_script": GREETING + "打扰您几分钟做个满意度回访：对交车过程满意吗？车辆使用有没有疑问？",
    },
    {
        "kind": "post_repair_day3",
        "name": "维修后三日回访",
        "lead_days": 0,
        "expiry_days": 12,
        "priority": 70,
        "params": {"days": 3, "repair_order_kinds": ["repair", "warranty", "accident", "bodywork", "maintenance"]},
        "message_template": "",
        "call_script": GREETING + "您的爱车{plate}三天前在我们这里维修保养，目前使用情况好吗？"
        "更换的零件都正常吗？有任何问题随时联系我。",
    },
    {
        "kind": "declined_service",
        "name": "未做项目回访",
        "lead_days": 0,
        "expiry_days": 30,
        "priority": 50,
        "params": {"delay_days": 30},
        "message_template": "",
        "call_script": GREETING + "上次来店时技师建议的{item}（报价{price}元）您还没有做，"
        "为了行车安全，建议近期处理，需要帮您预约吗？",
    },
    {
        "kind": "appointment_confirm",
        "name": "预约确认",
        "lead_days": 1,
        "expiry_days": 0,
        "priority": 80,
        "message_template": SIGN + "{name}{title}，提醒您明天到店，顾问{advisor}已为您预留工位。",
        "call_script": GREETING + "跟您确认一下明天的预约，时间方便吗？",
    },
    {
        "kind": "seasonal",
        "name": "冬季关怀检测",
        "enabled": False,
        "lead_days": 0,
        "expiry_days": 30,
        "priority": 45,
        "params": {"start": "2026-12-01", "end": "2027-01-15", "item": "冬季关怀免费检测", "segment": {}},
        "message_template": SIGN + "{name}{title}，{item}活动进行中，防冻液、电瓶、轮胎免费检测，欢迎预约{booking_phone}。",
        "call_script": GREETING + "我们正在做{item}活动，免费检测防冻液、电瓶和轮胎，您看哪天方便过来？",
    },
    {
        "kind": "recall",
        "name": "召回通知",
        "lead_days": 0,
        "expiry_days": 90,
        "priority": 90,
        "message_template": SIGN + "{name}{title}，您的爱车{plate}在厂家“{item}”范围内，请致电{booking_phone}预约免费处理。",
        "call_script": GREETING + "厂家发布了“{item}”，您的爱车{plate}在范围内，处理免费，大约需要一小时，"
        "请问哪天方便？",
    },
]


def create(apps, schema_editor):
    CareRule = apps.get_model("care", "CareRule")
    for spec in RULES:
        spec = dict(spec)
        kind, name = spec.pop("kind"), spec.pop("name")
        CareRule.objects.get_or_create(dealership=None, kind=kind, name=name, defaults=spec)


def delete(apps, schema_editor):
    CareRule = apps.get_model("care", "CareRule")
    CareRule.objects.filter(dealership=None, name__in=[r["name"] for r in RULES], tasks__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("care", "0003_seed_holidays")]
    operations = [migrations.RunPython(create, delete)]
