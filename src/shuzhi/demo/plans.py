"""The demo's contingency plans, from the seeds' scenarios, imported through the plan importer.

* **暴雨洪涝** heavy rain / flood — Dazu's "7·26" rainstorm (*seed*: 5,875 people moved to safety, no
  casualties): started by a water-level or rainfall warning at orange or above, through the district
  bureaus (水利局, 应急管理局, 气象局, 城管局), every affected town centre, village committee and grid.
* **燃气泄漏** gas leak — started by an event of class 燃气泄漏 (1404) or 燃气管道泄漏 (0110) at urgent or
  above: the gas company, fire brigade, police, the town centre and the grid of the place.
* **大型活动** large public event — started by hand for the venue's areas: security, traffic, medical,
  fire, food safety, the town centre, villages and grids.

Warning triggers name indicator codes of the demo's sensing tree (:mod:`shuzhi.demo.sensing_data`):
river level ``RIVER_LEVEL``, hourly rainfall ``RAINFALL_1H`` and waterlogging depth
``WATERLOGGING_DEPTH`` (a trigger matches an indicator or any sector/runway above it).
"""

from __future__ import annotations

import json
from typing import Any

from shuzhi.services.actors import SYSTEM
from shuzhi.services.plans import templates as plan_templates
from shuzhi.services.unit_of_work import UnitOfWork

FLOOD: dict[str, Any] = {
    "code": "flood-response", "name": "大足区暴雨洪涝灾害应急预案",
    "description": "水位或降雨量达到橙色及以上预警时启动，三级中心联动，直达村社网格。",
    "trigger": {"kind": "warning", "indicators": ["RIVER_LEVEL", "RAINFALL_1H", "WATERLOGGING_DEPTH"],
                "at_least": "orange"},
    "confirmation": "auto",
    "event": {"class": "1407", "urgency": "critical", "title": "暴雨洪涝应急响应"},
    "accept_within": "0.5h",
    "tasks": [
        {"key": "forecast", "title": "滚动气象预报", "role": "unit:D500111-QXJ", "deadline": "1h",
         "instruction": "每小时滚动发布降雨预报，提请区防指研判。"},
        {"key": "water", "title": "水情监测与水库调度", "role": "unit:D500111-SLJ", "deadline": "2h",
         "instruction": "加密河道、水库水位监测，按调度方案预泄，及时报告险情。",
         "checklist": ["水库预泄", "河道巡查", "山洪沟监测"]},
        {"key": "command", "title": "应急指挥与物资调拨", "role": "unit:D500111-YJJ", "deadline": "2h",
         "instruction": "启动防汛应急响应，调拨冲锋舟、沙袋等物资，协调救援队伍。"},
        {"key": "drainage", "title": "城区排涝", "role": "unit:D500111-CGJ", "deadline": "3h",
         "instruction": "清掏雨水口，易涝点设警戒并抽排积水。", "checklist": ["易涝点值守", "雨水口清掏"]},
        {"key": "town", "title": "镇街防汛部署", "role": "town_centre", "deadline": "1h",
         "instruction": "镇街中心启动响应，领导带班，通知村社和网格员到岗。",
         "checklist": ["领导带班", "通知村社", "核对危险区域名单"]},
        {"key": "alert", "title": "网格预警叫应", "role": "grid_units", "deadline": "1h",
         "instruction": "逐户叫应低洼、临河、地灾隐患点群众，确认联系畅通。"},
        {"key": "evacuate", "title": "村社转移安置", "role": "village_units", "deadline": "3h", "after": ["town"],
         "instruction": "按转移名单组织危险区域群众转移至安置点，登记人数。",
         "checklist": ["转移名单核对", "安置点开放", "人数上报"]},
        {"key": "patrol", "title": "网格巡查回报", "role": "grid_units", "deadline": "4h", "after": ["alert"],
         "instruction": "巡查网格内积水、滑坡、房屋险情，拍照回报。"},
    ],
}

GAS_LEAK: dict[str, Any] = {
    "code": "gas-leak", "name": "燃气泄漏突发事件处置预案",
    "description": "燃气泄漏事件（紧急及以上）受理后自动启动：关阀、警戒、疏散、排险。",
    "trigger": {"kind": "event_class", "classes": ["1404", "0110"], "at_least": "urgent"},
    "confirmation": "auto",
    "accept_within": "0.25h",
    "tasks": [
        {"key": "valve", "title": "关阀抢修", "role": "unit:D500111-RQGS", "deadline": "1h",
         "instruction": "立即派抢修队关闭上游阀门，检测浓度，抢修漏点。", "checklist": ["关闭阀门", "浓度检测"]},
        {"key": "fire", "title": "消防警戒", "role": "unit:D500111-XFZD", "deadline": "0.5h",
         "instruction": "到场设置警戒区，消除火源，做好灭火救援准备。"},
        {"key": "police", "title": "现场秩序与交通管制", "role": "unit:D500111-GAJ", "deadline": "1h",
         "instruction": "维护现场秩序，配合疏散，必要时实施交通管制。"},
        {"key": "town", "title": "镇街组织疏散", "role": "town_centre", "deadline": "1h",
         "instruction": "组织周边群众疏散，安排临时安置。"},
        {"key": "grid", "title": "网格员入户通知", "role": "grid_units", "deadline": "1h",
         "instruction": "入户通知周边住户关闭火源、有序撤离。"},
        {"key": "recheck", "title": "复测与恢复供气", "role": "unit:D500111-RQGS", "deadline": "8h",
         "after": ["valve"], "instruction": "复测合格后恢复供气，书面报告原因。"},
    ],
}

PUBLIC_EVENT: dict[str, Any] = {
    "code": "large-event", "name": "大型群众性活动安全保障预案",
    "description": "大型群众性活动（如宝顶山庙会、石刻文化节）前手动启动。",
    "trigger": {"kind": "manual"},
    "confirmation": "propose",
    "event": {"class": "1802", "urgency": "urgent", "title": "大型活动安全保障"},
    "accept_within": "2wh",
    "tasks": [
        {"key": "plan", "title": "活动安保方案", "role": "unit:D500111-GAJ", "deadline": "2wd",
         "instruction": "制定安保方案，核定场地容量，部署警力。"},
        {"key": "traffic", "title": "交通组织", "role": "unit:D500111-JXJ", "deadline": "2wd", "after": ["plan"],
         "instruction": "制定交通管制和停车方案，发布出行提示。"},
        {"key": "medical", "title": "医疗保障", "role": "unit:D500111-WJW", "deadline": "2wd",
         "instruction": "设置医疗点，安排救护车待命。"},
        {"key": "fire", "title": "消防检查", "role": "unit:D500111-XFZD", "deadline": "2wd",
         "instruction": "检查场地消防通道、器材，现场驻点。"},
        {"key": "food", "title": "食品安全检查", "role": "unit:D500111-SCJGJ", "deadline": "2wd",
         "instruction": "检查场地周边餐饮摊点。"},
        {"key": "venue", "title": "场地与文旅协调", "role": "unit:D500111-WLW", "deadline": "1wd",
         "instruction": "协调主办方落实安全责任和应急预案。"},
        {"key": "town", "title": "镇街属地保障", "role": "town_centre", "deadline": "1wd", "after": ["plan"],
         "instruction": "落实属地责任，安排志愿者和值守人员。"},
        {"key": "grid", "title": "网格巡查", "role": "grid_units", "deadline": "1wd", "after": ["town"],
         "instruction": "活动期间巡查网格内人员聚集、占道经营等情况并回报。"},
    ],
}

TEMPLATES = [FLOOD, GAS_LEAK, PUBLIC_EVENT]


def load_demo_plans(uow: UnitOfWork) -> plan_templates.ImportReport:
    """Import the demo templates through the same importer an administrator uses (JSON upload)."""
    data = json.dumps(TEMPLATES, ensure_ascii=False).encode()
    return plan_templates.import_templates(uow, data, "demo-plans.json", SYSTEM)
