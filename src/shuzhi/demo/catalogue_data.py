"""The demo's event classes and departments.

Class codes: two digits of major class + two of minor class (``0101``). Majors 01–06 are components
(部件) and 11–18 events (事件) after GB/T 30428.2, extended with the 12345 hotline's livelihood classes
(17) and social governance (18), as cities do; 90 is information-only notices (抄送知悉).

Each class names the department responsible for it (the abbreviation in :data:`DEPARTMENTS`), and
whether a grid team (``grid``) or town centre (``town``) may handle it — the grid principle's
"small matters stay in the grid".
"""

from __future__ import annotations

# abbreviation → name of a Dazu district department or utility
DEPARTMENTS: dict[str, str] = {
    "CGJ": "大足区城市管理局", "ZJW": "大足区住房和城乡建设委员会", "JTW": "大足区交通运输委员会",
    "SLJ": "大足区水利局", "STHJJ": "大足区生态环境局", "YJJ": "大足区应急管理局", "GAJ": "大足区公安分局",
    "SCJGJ": "大足区市场监督管理局", "WJW": "大足区卫生健康委员会", "JW": "大足区教育委员会",
    "MZJ": "大足区民政局", "RSJ": "大足区人力资源和社会保障局", "GHZYJ": "大足区规划和自然资源局",
    "NYNCW": "大足区农业农村委员会", "LYJ": "大足区林业局", "XFZD": "大足区消防救援支队",
    "WLW": "大足区文化和旅游发展委员会", "SWW": "大足区商务委员会", "XFB": "大足区信访办公室",
    "GDGS": "国网重庆大足供电公司", "RQGS": "大足燃气有限公司", "SWGS": "大足水务有限公司",
    "DXGS": "中国电信大足分公司", "YDGS": "中国移动大足分公司", "LTGS": "中国联通大足分公司",
    "JXW": "大足区经济和信息化委员会", "FZGGW": "大足区发展和改革委员会", "CZJ": "大足区财政局",
    "SFJ": "大足区司法局", "TJJ": "大足区统计局", "YBJ": "大足区医疗保障局", "TYJRJ": "大足区退役军人事务局",
    "SJJ": "大足区审计局", "QXJ": "大足区气象局", "ZWB": "大足区政务服务管理办公室", "JXJ": "大足区交巡警支队",
    "ZGH": "大足区总工会", "FL": "大足区妇女联合会", "TW": "共青团大足区委员会", "DZJ": "大足区地震局",
}

# Limit profiles: (accept, handle) per urgency, in the catalogue's text form.
PROFILES: dict[str, dict[str, tuple[str, str]]] = {
    "routine": {"normal": ("2wh", "5wd"), "urgent": ("1wh", "2wd"), "critical": ("0.5h", "8h")},
    "quick": {"normal": ("1wh", "2wd"), "urgent": ("0.5wh", "1wd"), "critical": ("0.5h", "4h")},
    # a burst main not cordoned: 3 emergency hours to cordon, 8 to repair (domain brief §4)
    "emergency": {"normal": ("1h", "24h"), "urgent": ("0.5h", "8h"), "critical": ("0.25h", "3h")},
    "consult": {"normal": ("4wh", "3wd"), "urgent": ("2wh", "1wd"), "critical": ("1h", "8h")},
    "complaint": {"normal": ("4wh", "13wd"), "urgent": ("2wh", "5wd"), "critical": ("1h", "24h")},
    "notify": {},
}

MAJORS: dict[str, tuple[str, str]] = {
    "01": ("公用设施", "component"), "02": ("道路交通", "component"), "03": ("市容环境设施", "component"),
    "04": ("园林绿化", "component"), "05": ("房屋土地", "component"), "06": ("其他设施", "component"),
    "11": ("市容环境", "event"), "12": ("宣传广告", "event"), "13": ("施工管理", "event"),
    "14": ("突发事件", "event"), "15": ("街面秩序", "event"), "16": ("市场监管", "event"),
    "17": ("民生服务", "event"), "18": ("社会治理", "event"), "90": ("信息通报", "event"),
}

# (code, name, profile, default urgency, responsible department, who below may handle it, weight)
CLASSES: list[tuple[str, str, str, str, str, str, int]] = [
    ("0101", "上水井盖破损", "quick", "urgent", "SWGS", "", 4),
    ("0102", "污水井盖破损", "quick", "urgent", "CGJ", "", 4),
    ("0103", "雨水井盖缺失", "quick", "urgent", "CGJ", "", 3),
    ("0104", "电力井盖破损", "quick", "urgent", "GDGS", "", 2),
    ("0105", "通信井盖破损", "quick", "normal", "DXGS", "", 2),
    ("0106", "燃气井盖破损", "quick", "urgent", "RQGS", "", 1),
    ("0107", "消防栓损坏", "routine", "normal", "XFZD", "", 1),
    ("0108", "路灯不亮", "routine", "normal", "CGJ", "", 6),
    ("0109", "供水管道破裂", "emergency", "critical", "SWGS", "", 2),
    ("0110", "燃气管道泄漏", "emergency", "critical", "RQGS", "", 1),
    ("0111", "变电箱损坏", "quick", "urgent", "GDGS", "", 1),
    ("0112", "通信线缆脱落", "routine", "normal", "DXGS", "", 2),
    ("0201", "交通信号灯故障", "quick", "urgent", "JXJ", "", 2),
    ("0202", "交通标志牌损坏", "routine", "normal", "JTW", "", 2),
    ("0203", "道路护栏损坏", "routine", "normal", "JTW", "", 2),
    ("0204", "路面破损", "routine", "normal", "JTW", "", 5),
    ("0205", "人行道板破损", "routine", "normal", "CGJ", "", 4),
    ("0206", "桥梁设施损坏", "quick", "urgent", "JTW", "", 1),
    ("0207", "隧道照明故障", "quick", "urgent", "JTW", "", 1),
    ("0208", "公交站亭损坏", "routine", "normal", "JTW", "", 1),
    ("0209", "停车场设施损坏", "routine", "normal", "CGJ", "", 1),
    ("0301", "垃圾桶破损", "routine", "normal", "CGJ", "grid", 3),
    ("0302", "垃圾站满溢", "quick", "normal", "CGJ", "town", 4),
    ("0303", "公共厕所设施损坏", "routine", "normal", "CGJ", "town", 2),
    ("0304", "店招牌匾破损", "routine", "normal", "CGJ", "", 1),
    ("0305", "环卫设施损坏", "routine", "normal", "CGJ", "", 1),
    ("0401", "行道树倒伏", "quick", "urgent", "CGJ", "", 2),
    ("0402", "绿地损坏", "routine", "normal", "CGJ", "grid", 2),
    ("0403", "花坛破损", "routine", "normal", "CGJ", "grid", 1),
    ("0404", "古树名木受损", "routine", "normal", "LYJ", "", 1),
    ("0501", "危房险情", "emergency", "urgent", "ZJW", "", 1),
    ("0502", "违法建设", "complaint", "normal", "GHZYJ", "town", 3),
    ("0503", "地面沉降塌陷", "emergency", "urgent", "GHZYJ", "", 1),
    ("0601", "监控设施损坏", "routine", "normal", "GAJ", "", 1),
    ("0602", "健身器材损坏", "routine", "normal", "WLW", "town", 2),
    ("0603", "宣传栏破损", "routine", "normal", "CGJ", "grid", 1),
    ("1101", "暴露垃圾", "quick", "normal", "CGJ", "grid", 12),
    ("1102", "积存垃圾渣土", "quick", "normal", "CGJ", "grid", 5),
    ("1103", "道路不洁", "quick", "normal", "CGJ", "grid", 6),
    ("1104", "水域不洁", "routine", "normal", "SLJ", "town", 2),
    ("1105", "乱堆物堆料", "quick", "normal", "CGJ", "grid", 8),
    ("1106", "焚烧垃圾树叶", "quick", "urgent", "STHJJ", "grid", 2),
    ("1107", "动物尸体", "quick", "normal", "CGJ", "grid", 1),
    ("1201", "违规张贴小广告", "quick", "normal", "CGJ", "grid", 6),
    ("1202", "非法户外广告", "routine", "normal", "CGJ", "", 2),
    ("1203", "违规悬挂条幅", "quick", "normal", "CGJ", "grid", 2),
    ("1301", "施工扰民", "complaint", "normal", "ZJW", "", 4),
    ("1302", "工地扬尘", "quick", "normal", "STHJJ", "", 3),
    ("1303", "渣土车抛洒滴漏", "quick", "normal", "CGJ", "", 2),
    ("1304", "违规占道施工", "routine", "normal", "CGJ", "", 2),
    ("1401", "路面积水", "emergency", "urgent", "CGJ", "", 3),
    ("1402", "道路塌陷", "emergency", "critical", "JTW", "", 1),
    ("1403", "火灾", "emergency", "critical", "XFZD", "", 1),
    ("1404", "燃气泄漏", "emergency", "critical", "RQGS", "", 1),
    ("1405", "山体滑坡", "emergency", "critical", "GHZYJ", "", 1),
    ("1406", "交通事故", "emergency", "urgent", "JXJ", "", 2),
    ("1407", "防汛险情", "emergency", "critical", "SLJ", "", 1),
    ("1501", "占道经营", "quick", "normal", "CGJ", "grid", 10),
    ("1502", "店外经营", "quick", "normal", "CGJ", "grid", 6),
    ("1503", "无照游商", "quick", "normal", "CGJ", "grid", 3),
    ("1504", "机动车乱停放", "quick", "normal", "JXJ", "", 6),
    ("1505", "非机动车乱停放", "quick", "normal", "CGJ", "grid", 4),
    ("1506", "露天烧烤", "quick", "normal", "CGJ", "grid", 3),
    ("1507", "噪声扰民", "complaint", "normal", "STHJJ", "", 5),
    ("1601", "食品安全", "complaint", "urgent", "SCJGJ", "", 3),
    ("1602", "价格欺诈", "complaint", "normal", "SCJGJ", "", 2),
    ("1603", "假冒伪劣商品", "complaint", "normal", "SCJGJ", "", 1),
    ("1604", "无证经营", "complaint", "normal", "SCJGJ", "", 1),
    ("1701", "供水问题", "consult", "normal", "SWGS", "", 5),
    ("1702", "供电问题", "consult", "normal", "GDGS", "", 4),
    ("1703", "供气问题", "consult", "normal", "RQGS", "", 2),
    ("1704", "物业纠纷", "complaint", "normal", "ZJW", "town", 5),
    ("1705", "劳动保障", "complaint", "normal", "RSJ", "", 3),
    ("1706", "拖欠农民工工资", "complaint", "urgent", "RSJ", "", 3),
    ("1707", "教育问题", "consult", "normal", "JW", "", 3),
    ("1708", "医疗卫生", "consult", "normal", "WJW", "", 3),
    ("1709", "社保医保", "consult", "normal", "YBJ", "", 3),
    ("1710", "政策咨询", "consult", "normal", "ZWB", "", 4),
    ("1711", "通信信号问题", "consult", "normal", "YDGS", "", 2),
    ("1801", "矛盾纠纷", "complaint", "normal", "SFJ", "town", 4),
    ("1802", "治安隐患", "routine", "urgent", "GAJ", "", 2),
    ("1803", "安全生产隐患", "routine", "urgent", "YJJ", "town", 2),
    ("1804", "邻里纠纷", "complaint", "normal", "SFJ", "grid", 3),
    ("1805", "退役军人服务", "consult", "normal", "TYJRJ", "", 1),
    ("9001", "停水通知", "notify", "normal", "SWGS", "", 2),
    ("9002", "停电通知", "notify", "normal", "GDGS", "", 2),
    ("9003", "气象预警信息", "notify", "normal", "QXJ", "", 1),
    ("9004", "交通管制信息", "notify", "normal", "JXJ", "", 1),
    ("9005", "工作动态通报", "notify", "normal", "ZWB", "", 1),
]
