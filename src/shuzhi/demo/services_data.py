"""The demo's service catalogue: matters per department and the seeds' "one thing" bundles.

Names follow Chongqing's published 事项清单 (渝快办); each base matter also appears as its usual
variants (变更/注销/补办) where the department's list has them, which is how a real list reaches its
500 entries. Time limits are typical for the kind of matter, the promised one well under the statutory.
"""

from __future__ import annotations

# department abbreviation → [(matter name, keywords, statutory days, promised days, places, variants?)]
# places: h = district hall, t = town point, v = village point, o = online
MATTERS: dict[str, list[tuple[str, str, int, int, str, bool]]] = {
    "WJW": [("出生医学证明办理", "出生证 新生儿", 20, 3, "htvo", True), ("医师执业注册", "医生", 20, 5, "ho", True),
            ("护士执业注册", "护士", 20, 5, "ho", True), ("医疗机构执业登记", "诊所", 45, 15, "h", True),
            ("生育登记", "准生证 一孩 二孩", 5, 1, "htvo", False), ("公共场所卫生许可", "卫生许可证", 20, 5, "ho", True),
            ("计划生育家庭特别扶助金", "失独", 20, 10, "htv", False), ("放射诊疗许可", "", 20, 10, "h", True)],
    "GAJ": [("出生登记（户口）", "上户口 新生儿", 10, 2, "htv", False), ("户口迁入（投靠）", "落户 迁户口", 10, 3, "ht", False),
            ("户口迁出", "迁户口", 5, 1, "ht", False), ("居民身份证申领", "身份证", 60, 20, "ht", True),
            ("临时身份证办理", "", 3, 1, "h", False), ("印章刻制备案", "公章 刻章", 5, 1, "ho", False),
            ("退役士兵户口登记", "退伍 落户", 10, 3, "ht", False), ("人才落户", "人才引进 落户", 10, 3, "ho", False),
            ("死亡注销户口", "", 5, 1, "htv", False), ("暂住登记（居住证）", "居住证", 15, 5, "htvo", True)],
    "YBJ": [("城乡居民医保参保登记", "医保 参保", 5, 1, "htvo", True), ("医保关系转移接续", "医保转移", 15, 5, "hto", False),
            ("异地就医备案", "异地 医保", 5, 1, "htvo", False), ("门诊特殊疾病认定", "慢特病", 20, 10, "ht", False),
            ("生育医疗费用报销", "生育津贴", 20, 10, "ht", False), ("医保定点机构申请", "定点药店", 30, 15, "h", True)],
    "RSJ": [("社会保障卡申领", "社保卡", 15, 5, "htvo", True), ("工伤认定", "工伤", 60, 30, "h", False),
            ("劳动能力鉴定", "伤残鉴定", 60, 40, "h", False), ("工伤保险待遇核定", "工伤待遇", 20, 10, "h", False),
            ("养老保险关系转移接续", "社保转移", 45, 15, "hto", False), ("城乡居民养老保险参保登记", "养老 参保", 5, 1, "htvo", True),
            ("领取待遇资格认证", "年审 资格认证", 5, 1, "htvo", False), ("高层次人才认定", "人才 认定", 30, 10, "ho", False),
            ("就业困难人员认定", "", 15, 5, "htv", False), ("失业保险金申领", "失业金", 15, 5, "hto", False),
            ("人力资源服务许可", "", 20, 10, "h", True), ("职业技能等级证书补发", "", 20, 10, "ho", False)],
    "TYJRJ": [("退役军人信息采集登记", "退伍 退役", 10, 2, "htv", False), ("退役士兵安置", "", 30, 15, "h", False),
              ("优待证申领", "退役军人优待证", 20, 10, "htv", False), ("伤残抚恤关系接转", "", 30, 10, "h", False),
              ("自主就业退役士兵一次性经济补助", "", 30, 10, "h", False)],
    "MZJ": [("最低生活保障审核确认", "低保", 30, 15, "htv", False), ("特困人员认定", "五保", 30, 15, "htv", False),
            ("临时救助", "", 15, 5, "htv", False), ("婚姻登记（结婚）", "结婚证", 1, 1, "h", False),
            ("婚姻登记（离婚）", "离婚", 30, 30, "h", False), ("高龄津贴申领", "老年人 津贴", 20, 5, "htv", False),
            ("残疾人两项补贴", "残疾 补贴", 20, 10, "htv", False), ("社会团体登记", "社团", 60, 20, "h", True),
            ("民办非企业单位登记", "", 60, 20, "h", True), ("殡葬补助", "丧葬", 15, 5, "htv", False)],
    "SCJGJ": [("企业设立登记", "营业执照 开办企业", 15, 1, "hto", True), ("个体工商户登记", "个体户", 15, 1, "htvo", True),
              ("食品经营许可", "餐饮 食品", 20, 5, "hto", True), ("药品零售许可", "药店", 30, 10, "h", True),
              ("特种设备使用登记", "电梯 锅炉", 15, 5, "h", True), ("农民专业合作社登记", "合作社", 15, 1, "hto", True),
              ("小作坊登记", "", 20, 5, "ht", True)],
    "GHZYJ": [("乡村建设规划许可", "农房 建房", 20, 10, "ht", True), ("不动产首次登记", "房产证", 30, 5, "hto", False),
              ("不动产转移登记", "过户", 30, 5, "hto", False), ("不动产抵押登记", "抵押", 30, 3, "ho", True),
              ("建设用地规划许可", "", 20, 10, "h", True), ("建设工程规划许可", "", 20, 10, "h", True),
              ("宅基地使用权及房屋所有权登记", "农房 确权", 30, 10, "ht", False)],
    "NYNCW": [("农村宅基地审批", "宅基地 农房 建房", 20, 10, "htv", False), ("农药经营许可", "", 20, 10, "h", True),
              ("种子生产经营许可", "", 20, 10, "h", True), ("动物防疫条件合格证", "养殖", 20, 10, "ht", True),
              ("农机购置补贴", "农机", 30, 15, "htv", False), ("耕地地力保护补贴", "种粮补贴", 30, 15, "htv", False),
              ("家庭农场名录登记", "", 15, 5, "ht", True)],
    "ZJW": [("农房建设竣工验收备案", "农房 验收", 15, 5, "ht", False), ("建筑工程施工许可", "施工许可证", 7, 3, "h", True),
            ("商品房预售许可", "预售证", 10, 5, "h", True), ("公租房申请", "公租房 保障房", 30, 20, "htv", False),
            ("人才住房保障申请", "人才房 人才公寓", 30, 15, "ho", False), ("建设工程消防验收", "", 15, 10, "h", False),
            ("农村危房改造补助", "危房", 30, 15, "htv", False)],
    "JW": [("义务教育入学登记", "入学 上学 人才子女", 30, 10, "hto", False), ("民办学校办学许可", "", 60, 30, "h", True),
           ("教师资格认定", "教师证", 60, 30, "ho", False), ("学生资助申请", "助学金", 30, 15, "htv", False),
           ("校外培训机构审批", "", 60, 30, "h", True)],
    "JXW": [("企业技术中心认定", "创新 技术中心", 60, 30, "ho", False), ("专精特新企业认定", "专精特新 创新", 60, 30, "ho", False),
            ("工业企业技术改造补助", "技改 补贴", 60, 30, "ho", False), ("企业创新激励资格审核", "创新激励 研发", 30, 15, "ho", False),
            ("新能源汽车推广补贴", "", 60, 30, "h", False)],
    "CZJ": [("财政补助资金拨付", "补贴 拨付 创新激励", 30, 10, "ho", False), ("政府采购供应商登记", "", 10, 3, "ho", True),
            ("会计代理记账许可", "代理记账", 20, 10, "h", True)],
    "FZGGW": [("企业投资项目备案", "项目备案", 5, 1, "ho", True), ("固定资产投资项目节能审查", "节能", 20, 10, "h", False),
              ("价格认定", "", 20, 10, "h", False), ("研发费用加计扣除项目鉴定", "研发 创新", 30, 15, "ho", False)],
    "SWW": [("对外贸易经营者备案", "外贸", 5, 1, "ho", True), ("成品油零售经营许可", "加油站", 20, 10, "h", True),
            ("单用途预付卡备案", "预付卡", 10, 3, "ho", True), ("再生资源回收经营者备案", "", 10, 3, "ho", True)],
    "STHJJ": [("建设项目环境影响评价审批", "环评", 60, 20, "h", False), ("排污许可", "", 30, 15, "ho", True),
              ("危险废物经营许可", "", 20, 10, "h", True)],
    "SLJ": [("取水许可", "", 45, 20, "h", True), ("河道管理范围内建设项目审批", "", 20, 10, "h", False),
            ("水土保持方案审批", "", 20, 10, "h", False), ("农村饮水安全补助", "", 30, 15, "htv", False)],
    "JTW": [("道路货物运输经营许可", "货运", 20, 5, "ho", True), ("出租汽车驾驶员资格证", "网约车", 20, 10, "ho", True),
            ("公路超限运输许可", "", 5, 2, "ho", False), ("道路旅客运输经营许可", "客运", 20, 10, "h", True)],
    "WLW": [("营业性演出许可", "演出", 20, 10, "h", True), ("娱乐场所经营许可", "KTV", 20, 10, "h", True),
            ("网吧经营许可", "网吧", 20, 10, "h", True), ("旅行社设立许可", "", 30, 15, "h", True)],
    "YJJ": [("危险化学品经营许可", "危化品", 30, 15, "h", True), ("烟花爆竹零售许可", "烟花", 20, 10, "ht", True),
            ("生产安全事故应急预案备案", "", 10, 3, "ho", False)],
    "LYJ": [("林木采伐许可", "砍树 采伐证", 20, 5, "htv", False), ("使用林地审核", "", 20, 10, "h", False),
            ("野生动物人工繁育许可", "", 20, 10, "h", True)],
    "SFJ": [("法律援助申请", "法援 律师", 7, 3, "htv", False), ("人民调解申请", "调解", 30, 15, "htv", False),
            ("公证申请", "公证", 15, 5, "h", False)],
    "XFZD": [("公众聚集场所投入使用营业前消防安全检查", "消防检查", 10, 5, "h", False)],
    "ZGH": [("困难职工帮扶申请", "", 30, 15, "ht", False), ("工会法人资格登记", "", 20, 10, "h", True)],
    "FL": [("妇女儿童维权申请", "", 15, 5, "htv", False), ("两癌救助申请", "", 30, 15, "htv", False)],
    "TW": [("青年创业扶持申请", "创业", 30, 15, "ho", False)],
    "TJJ": [("统计调查项目审批", "", 20, 10, "h", False)],
    "QXJ": [("防雷装置设计审核", "防雷", 20, 10, "h", False), ("升放气球活动许可", "", 5, 2, "h", False)],
    "ZWB": [("政务服务帮代办申请", "代办 帮办", 5, 1, "htv", False), ("证照遗失补办综合受理", "补证", 10, 3, "htv", False)],
}

VARIANTS = ("变更", "注销", "延续")

ABBR = {"h": "district_hall", "t": "town", "v": "village", "o": "online"}


def matter_code(abbr: str, i: int, variant: int = 0) -> str:
    return f"500111-{abbr}-{i:03d}" + (f"-{variant}" if variant else "")


def code_of(abbr: str, name: str) -> str:
    """The code of a base matter by its department and name (for the bundles below)."""
    for i, row in enumerate(MATTERS[abbr], start=1):
        if row[0] == name:
            return matter_code(abbr, i)
    raise KeyError(f"{abbr}: {name}")


def _yes_no(key: str, text: str) -> dict[str, object]:
    return {"key": key, "text": text, "options": ["yes", "no"]}


# The seeds' "one thing" bundles (大足区: 新生儿出生、军人退役、工伤服务、人才引进、领取待遇资格年审、
# 农房建设全过程、企业创新激励 …).
BUNDLES: list[dict[str, object]] = [
    {"code": "newborn", "name": "新生儿出生一件事", "description": "出生医学证明、户口登记、医保参保、社保卡一次办",
     "questions": [_yes_no("born_here", "是否在本区医疗机构出生？"), _yes_no("want_card", "是否同时申领社保卡？")],
     "fields": [{"key": "child_name", "label": "新生儿姓名"}, {"key": "birth_date", "label": "出生日期", "kind": "date"},
                {"key": "mother_id", "label": "母亲身份证号", "kind": "id_number"},
                {"key": "phone", "label": "联系电话", "kind": "phone"}],
     "items": [("WJW", "出生医学证明办理", 1, ["child_name", "birth_date", "mother_id"],
                {"question": "born_here", "equals": "yes"}),
               ("GAJ", "出生登记（户口）", 1, ["child_name", "birth_date", "mother_id"], None),
               ("YBJ", "城乡居民医保参保登记", 1, ["child_name", "mother_id", "phone"], None),
               ("RSJ", "社会保障卡申领", 2, ["child_name", "phone"], {"question": "want_card", "equals": "yes"})]},
    {"code": "veteran", "name": "军人退役一件事", "description": "退役登记、户口、社保医保接续、优待证",
     "questions": [_yes_no("move_hukou", "是否需要办理户口迁入？")],
     "fields": [{"key": "discharge_no", "label": "退役证件号"}, {"key": "id_number", "label": "身份证号", "kind": "id_number"},
                {"key": "phone", "label": "联系电话", "kind": "phone"}],
     "items": [("TYJRJ", "退役军人信息采集登记", 1, ["discharge_no", "id_number", "phone"], None),
               ("GAJ", "退役士兵户口登记", 1, ["id_number"], {"question": "move_hukou", "equals": "yes"}),
               ("RSJ", "养老保险关系转移接续", 1, ["id_number", "discharge_no"], None),
               ("YBJ", "医保关系转移接续", 1, ["id_number", "phone"], None),
               ("TYJRJ", "优待证申领", 2, ["discharge_no", "id_number"], None)]},
    {"code": "work_injury", "name": "工伤服务一件事", "description": "工伤认定、劳动能力鉴定、待遇核定",
     "questions": [_yes_no("needs_assessment", "是否需要劳动能力鉴定？")],
     "fields": [{"key": "id_number", "label": "职工身份证号", "kind": "id_number"},
                {"key": "employer", "label": "用人单位"}, {"key": "injury_date", "label": "受伤日期", "kind": "date"}],
     "items": [("RSJ", "工伤认定", 1, ["id_number", "employer", "injury_date"], None),
               ("RSJ", "劳动能力鉴定", 2, ["id_number"], {"question": "needs_assessment", "equals": "yes"}),
               ("RSJ", "工伤保险待遇核定", 3, ["id_number", "employer"], None)]},
    {"code": "talent", "name": "人才引进一件事", "description": "人才认定、落户、人才住房、子女入学",
     "questions": [_yes_no("has_children", "是否有子女需要入学？"), _yes_no("needs_housing", "是否申请人才住房？")],
     "fields": [{"key": "id_number", "label": "身份证号", "kind": "id_number"}, {"key": "employer", "label": "工作单位"},
                {"key": "degree", "label": "学历", "kind": "choice", "options": ["本科", "硕士", "博士"]},
                {"key": "child_name", "label": "子女姓名", "required": False}],
     "items": [("RSJ", "高层次人才认定", 1, ["id_number", "employer", "degree"], None),
               ("GAJ", "人才落户", 2, ["id_number"], None),
               ("ZJW", "人才住房保障申请", 2, ["id_number", "employer"], {"question": "needs_housing", "equals": "yes"}),
               ("JW", "义务教育入学登记", 2, ["id_number", "child_name"], {"question": "has_children", "equals": "yes"})]},
    {"code": "rural_house", "name": "农房建设全过程一件事", "description": "宅基地审批、乡村建设规划许可、竣工验收、确权登记",
     "questions": [_yes_no("dilapidated", "是否属于危房改造？")],
     "fields": [{"key": "id_number", "label": "户主身份证号", "kind": "id_number"}, {"key": "village", "label": "所在村组"},
                {"key": "area_m2", "label": "建筑面积（平方米）", "kind": "number"}],
     "items": [("NYNCW", "农村宅基地审批", 1, ["id_number", "village", "area_m2"], None),
               ("GHZYJ", "乡村建设规划许可", 1, ["id_number", "village", "area_m2"], None),
               ("ZJW", "农村危房改造补助", 1, ["id_number", "village"], {"question": "dilapidated", "equals": "yes"}),
               ("ZJW", "农房建设竣工验收备案", 2, ["id_number", "village"], None),
               ("GHZYJ", "宅基地使用权及房屋所有权登记", 3, ["id_number", "village", "area_m2"], None)]},
    {"code": "innovation", "name": "企业创新激励一件事", "description": "创新资格审核、研发费用鉴定、补助拨付",
     "questions": [_yes_no("specialised", "是否申报专精特新？")],
     "fields": [{"key": "credit_code", "label": "统一社会信用代码"}, {"key": "rd_spend", "label": "年度研发投入（万元）",
                                                                    "kind": "number"},
                {"key": "contact_phone", "label": "联系电话", "kind": "phone"}],
     "items": [("JXW", "企业创新激励资格审核", 1, ["credit_code", "rd_spend"], None),
               ("FZGGW", "研发费用加计扣除项目鉴定", 1, ["credit_code", "rd_spend"], None),
               ("JXW", "专精特新企业认定", 1, ["credit_code"], {"question": "specialised", "equals": "yes"}),
               ("CZJ", "财政补助资金拨付", 2, ["credit_code", "contact_phone"], None)]},
    {"code": "pension_review", "name": "领取待遇资格年审一件事", "description": "养老、高龄、残疾补贴资格一次认证",
     "questions": [_yes_no("over_80", "是否年满80周岁？"), _yes_no("disabled", "是否持有残疾证？")],
     "fields": [{"key": "id_number", "label": "身份证号", "kind": "id_number"}, {"key": "phone", "label": "联系电话",
                                                                              "kind": "phone"}],
     "items": [("RSJ", "领取待遇资格认证", 1, ["id_number", "phone"], None),
               ("MZJ", "高龄津贴申领", 1, ["id_number"], {"question": "over_80", "equals": "yes"}),
               ("MZJ", "残疾人两项补贴", 1, ["id_number"], {"question": "disabled", "equals": "yes"})]},
    {"code": "open_business", "name": "开办企业一件事", "description": "营业执照、刻章、社保登记、医保、项目备案一次办",
     "questions": [_yes_no("food", "是否经营食品？")],
     "fields": [{"key": "company", "label": "企业名称"}, {"key": "legal_id", "label": "法定代表人身份证号",
                                                         "kind": "id_number"},
                {"key": "phone", "label": "联系电话", "kind": "phone"}],
     "items": [("SCJGJ", "企业设立登记", 1, ["company", "legal_id", "phone"], None),
               ("GAJ", "印章刻制备案", 2, ["company", "legal_id"], None),
               ("RSJ", "城乡居民养老保险参保登记", 2, ["company", "legal_id"], None),
               ("YBJ", "城乡居民医保参保登记", 2, ["company", "phone"], None),
               ("SCJGJ", "食品经营许可", 2, ["company", "legal_id"], {"question": "food", "equals": "yes"})]},
]
