"""The public-service world on top of :func:`tests.factories.build_world`.

Three more departments (health 卫健委 ``D500111-WJW``, public security 公安 ``D500111-GAJ``, medical
insurance 医保 ``D500111-YBJ``) each with a handler (hana, ivan, judy); windows: the district hall
``W-HALL`` (staffed by the district centre) and the town-A point ``W-LG`` (staffed by town A's centre,
where bob works; kelly is its clerk). The newborn bundle ``newborn`` has three matters in one stage
(birth certificate, household registration, medical insurance) and a conditional fourth (social
security card, only when the parents ask for it) in stage 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Person, Unit
from shuzhi.adapters.db.tables_public_services import ServiceWindow
from shuzhi.services.actors import SYSTEM
from shuzhi.services.unit_of_work import UnitOfWork
from shuzhi.services.window import catalogue
from tests.factories import World

# a valid resident ID (GB 11643 check digit)
ID_OK = "500111199001011232"
PROXY_ID = "500111198505051233"


def matter(code: str, name: str, dept: str, *, days: int = 5, places: list[str] | None = None,
           materials: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"code": code, "name": name, "department_code": dept, "kind": "public_service",
            "legal_basis": "《政务服务事项依据》第一条", "conditions": "本区户籍居民", "fee": "不收费",
            "statutory_days": days + 5, "promised_days": days,
            "places": places or ["district_hall", "town", "village", "online"],
            "materials": materials or [
                {"code": "id", "name": "身份证", "required": True},
                {"code": "cert", "name": "证明材料", "required": True, "deferrable": True},
                {"code": "photo", "name": "照片", "required": False},
            ]}


NEWBORN = {
    "code": "newborn", "name": "新生儿出生一件事", "description": "出生医学证明、户口登记、医保参保、社保卡一次办",
    "questions": [{"key": "born_here", "text": "是否在本区出生？"},
                  {"key": "want_card", "text": "是否同时申领社保卡？"}],
    "fields": [{"key": "child_name", "label": "新生儿姓名"},
               {"key": "birth_date", "label": "出生日期", "kind": "date"},
               {"key": "mother_id", "label": "母亲身份证号", "kind": "id_number"},
               {"key": "phone", "label": "联系电话", "kind": "phone"}],
    "items": [
        {"matter_code": "M-BIRTH", "stage": 1, "fields": ["child_name", "birth_date", "mother_id"]},
        {"matter_code": "M-HUKOU", "stage": 1, "fields": ["child_name", "birth_date", "mother_id"]},
        {"matter_code": "M-YIBAO", "stage": 1, "fields": ["child_name", "mother_id", "phone"]},
        {"matter_code": "M-CARD", "stage": 2, "fields": ["child_name", "phone"],
         "when": {"question": "want_card", "equals": "yes"}},
    ],
}


@dataclass
class ServicesWorld:
    world: World
    units: dict[str, Unit]


def build_services(s: Session, world: World, uow: UnitOfWork) -> ServicesWorld:
    units = dict(world.units)
    for code, name, who, pname in [("D500111-WJW", "大足区卫生健康委员会", "hana", "韩娜"),
                                   ("D500111-GAJ", "大足区公安分局", "ivan", "尹凡"),
                                   ("D500111-YBJ", "大足区医疗保障局", "judy", "朱迪")]:
        u = Unit(code=code, name=name, kind="department", level="district", area_id=world.areas["500111"].id,
                 parent_id=world.units["C500111"].id)
        s.add(u)
        s.flush()
        units[code] = u
        s.add(Person(code=who, name=pname, phone="13800138001", unit_id=u.id, role="handler"))
    s.add(Person(code="kelly", name="柯丽", phone="13800138002", unit_id=world.units["C500111001"].id,
                 role="handler"))
    s.add(ServiceWindow(code="W-HALL", name="大足区政务服务中心综合窗口", kind="district_hall",
                        unit_id=world.units["C500111"].id, area_id=world.areas["500111"].id,
                        area_path="/500000/500111/",
                        address="大足区政务服务中心"))
    s.add(ServiceWindow(code="W-LG", name="龙岗街道便民服务中心", kind="town", unit_id=world.units["C500111001"].id,
                        area_id=world.areas["500111001"].id, area_path=world.areas["500111001"].path,
                        address="龙岗街道"))
    s.commit()
    for doc in [matter("M-BIRTH", "出生医学证明办理", "D500111-WJW", days=3),
                matter("M-HUKOU", "出生登记（户口）", "D500111-GAJ", days=2),
                matter("M-YIBAO", "城乡居民医保参保登记", "D500111-YBJ", days=1),
                matter("M-CARD", "社会保障卡申领", "D500111-YBJ", days=5),
                matter("M-HALL", "建设工程规划许可", "D500111-CGJ", days=10, places=["district_hall"])]:
        catalogue.save_matter(uow, doc, SYSTEM)
    catalogue.save_bundle(uow, NEWBORN, SYSTEM)
    return ServicesWorld(world, units)


def newborn_application(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "window_code": "W-LG", "bundle_code": "newborn", "mode": "nearest",
        "applicant": {"kind": "person", "name": "张三", "id_number": ID_OK, "phone": "13912345678"},
        "answers": {"born_here": "yes", "want_card": "no"},
        "form": {"child_name": "张小宝", "birth_date": "2026-11-30", "mother_id": ID_OK, "phone": "13912345678"},
        "materials": {code: {"id": "provided", "cert": "provided"} for code in ("M-BIRTH", "M-HUKOU", "M-YIBAO")},
    }
    body.update(over)
    return body
