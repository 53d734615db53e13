"""The demo's knowledge tree: the 7 sectors of the seeds (domain.md §2), their runways and sub-runways,
and 150+ vital-sign indicators of a district like Dazu, each with its owner and how it is simulated.

One line per indicator, fields separated by ``|``::

    code | name | unit | value type | frequency | source system | owner | where | simulation

- owner: a department abbreviation of :data:`shuzhi.demo.catalogue_data.DEPARTMENTS`, or ``C`` for
  the district centre (party-building indicators are kept by the centre's 党建 desk).
- where: ``D`` the district; ``T`` every town; ``U`` the six urban streets; ``S`` eight sample towns;
  ``W`` river gauges (devices); ``G<n>`` n devices on urban grids; ``P<n>`` n devices at towns.
- simulation: a profile of :mod:`shuzhi.demo.sensing` with its parameters.

Key codes the warnings and plans of the demo use: ``RAINFALL_1H`` (mm, per town), ``RIVER_LEVEL``
(m, river gauges), ``WATER_MAIN_PRESSURE``, ``GAS_PRESSURE``, ``MANHOLE_TILT``, ``MANHOLE_OPEN``,
``BRIDGE_STRAIN``, ``TUNNEL_CO``, ``POWER_OUTAGES``, ``GARBAGE_FILL``, ``PARKING_OCCUPANCY``, ``AQI``,
``HOTLINE_CALLS``, ``WATERLOGGING_DEPTH``.
"""

from __future__ import annotations

TREE = """
# S1 党建统领
## S1.01 基层党建
### S1.01.01 组织覆盖
PARTY_BRANCH_COVERAGE|党组织覆盖率|%|number|1d|智慧党建平台|C|T|trend:97,0.02,0.3,100
PARTY_MEMBER_REPORTED|在职党员进社区报到率|%|number|1d|智慧党建平台|C|T|trend:88,0.1,1.0,100
PARTY_ACTIVITY_COUNT|党组织活动开展次数|次|integer|1d|智慧党建平台|C|T|count:3,2,10,0
PARTY_VOLUNTEER_HOURS|党员志愿服务时长|小时|number|1d|智慧党建平台|C|T|count:40,20,15,0
### S1.01.02 党建引领基层治理
GRID_PARTY_LEADERS|网格党小组长配备率|%|number|1d|智慧党建平台|C|T|trend:93,0.05,0.5,100
PARTY_PROBLEM_SOLVED|"三事分流"办结率|%|number|1d|智慧党建平台|C|T|trend:91,0.05,1.5,100
## S1.02 干部队伍
### S1.02.01 履职监督
CADRE_ONDUTY_RATE|值班干部在岗率|%|number|1h|值班管理系统|C|T|pct:98,1.5,10
SUPERVISION_ISSUES|督查发现问题数|个|integer|1d|督查督办系统|C|D|count:6,3,10,0
SUPERVISION_RECTIFIED|督查问题整改率|%|number|1d|督查督办系统|C|D|trend:86,0.2,2,100
# S2 设施运行
## S2.01 供水保障
### S2.01.01 管网运行
WATER_MAIN_PRESSURE|供水管网压力|MPa|number|5m|供水调度SCADA|SWGS|P10|diurnal:0.32,-0.04,0.008,20
WATER_FLOW|供水管网瞬时流量|m³/h|number|5m|供水调度SCADA|SWGS|P6|diurnal:850,260,25,19
WATER_LEAK_RATE|管网漏损率|%|number|1d|供水调度SCADA|SWGS|D|trend:11.5,-0.01,0.3,30
WATER_TURBIDITY|出厂水浊度|NTU|number|15m|水厂在线监测|SWGS|P3|flat:0.35,0.05
WATER_CHLORINE|出厂水余氯|mg/L|number|15m|水厂在线监测|SWGS|P3|flat:0.6,0.05
WATER_PLANT_LOAD|水厂负荷率|%|number|1h|供水调度SCADA|SWGS|P3|pct:72,12,19
### S2.01.02 二次供水
SECONDARY_TANK_LEVEL|二次供水水箱液位|m|number|15m|二次供水监管平台|SWGS|G12|diurnal:2.4,-0.6,0.05,20
SECONDARY_PUMP_FAULTS|二次供水泵房故障数|个|integer|1h|二次供水监管平台|SWGS|U|count:0.05,0.05,12,0.3
## S2.02 燃气安全
### S2.02.01 管网与场站
GAS_PRESSURE|燃气管网压力|kPa|number|5m|燃气SCADA|RQGS|P8|diurnal:3.2,-0.25,0.04,19
GAS_FLOW|燃气管网流量|m³/h|number|5m|燃气SCADA|RQGS|P4|diurnal:5200,1800,120,18
GAS_STATION_PRESSURE|门站出站压力|MPa|number|5m|燃气SCADA|RQGS|P2|flat:0.38,0.004
### S2.02.02 用户安全
GAS_LEAK_ALARMS|可燃气体报警数|次|integer|1h|燃气安全监测平台|RQGS|U|count:0.2,0.2,12,0
GAS_RESTAURANT_DETECTOR|餐饮场所燃气探测器在线率|%|number|1h|燃气安全监测平台|RQGS|U|pct:96,2,12
## S2.03 电力保障
### S2.03.01 供电运行
POWER_OUTAGES|停电事件数|次|integer|1h|配网调度系统|GDGS|T|count:0.05,0.05,15,1.2
POWER_LOAD|电网负荷|MW|number|15m|配网调度系统|GDGS|D|diurnal:420,160,10,20
POWER_OUTAGE_USERS|停电影响户数|户|integer|1h|配网调度系统|GDGS|S|count:2,2,15,80
TRANSFORMER_OVERLOAD|配变重过载台数|台|integer|1h|配网调度系统|GDGS|T|count:0.2,0.6,20,0
POWER_REPAIR_TIME|故障抢修平均时长|分钟|number|1d|配网调度系统|GDGS|D|flat:48,6
## S2.04 排水防涝
### S2.04.01 河道水情
RIVER_LEVEL|河道水位|m|number|5m|水文监测平台|SLJ|W|river:2.1
RIVER_FLOW|河道流量|m³/s|number|15m|水文监测平台|SLJ|D|river:35,40
RESERVOIR_LEVEL|水库水位|m|number|1h|水库监测平台|SLJ|P4|river:362,0.4
RESERVOIR_STORAGE|水库蓄水率|%|number|1h|水库监测平台|SLJ|D|storm:68,1.2,0.3
### S2.04.02 城市内涝
WATERLOGGING_DEPTH|易涝点积水深度|cm|number|5m|排水防涝监测平台|CGJ|G8|storm:0,1.2,0.3
DRAIN_PIPE_LEVEL|排水管网液位|m|number|5m|排水防涝监测平台|CGJ|G8|storm:0.4,0.05,0.03
PUMP_STATION_RUNNING|排涝泵站运行台数|台|integer|15m|排水防涝监测平台|CGJ|P3|storm:0,0.12,0
SEWAGE_PLANT_INFLOW|污水处理厂进水量|万m³/d|number|1h|污水处理监管平台|CGJ|P2|storm:4.2,0.08,0.2
## S2.05 桥梁隧道
### S2.05.01 桥梁健康
BRIDGE_STRAIN|桥梁主梁应变|με|number|5m|桥梁健康监测系统|JTW|P6|diurnal:120,35,4,16
BRIDGE_DEFLECTION|桥梁挠度|mm|number|5m|桥梁健康监测系统|JTW|P6|diurnal:6,2.5,0.3,17
BRIDGE_VIBRATION|桥梁振动加速度|m/s²|number|5m|桥梁健康监测系统|JTW|P4|diurnal:0.05,0.03,0.005,18
BRIDGE_TILT|桥墩倾角|°|number|15m|桥梁健康监测系统|JTW|P4|flat:0.12,0.01
### S2.05.02 隧道运行
TUNNEL_CO|隧道一氧化碳浓度|ppm|number|1m|隧道监控系统|JTW|P3|diurnal:18,14,2,18
TUNNEL_VI|隧道能见度(VI)|1/km|number|1m|隧道监控系统|JTW|P3|diurnal:2.5,1.8,0.3,18
TUNNEL_TRAFFIC|隧道车流量|辆/5分钟|integer|5m|隧道监控系统|JTW|P3|count:60,55,18,0
TUNNEL_LIGHTING_FAULTS|隧道照明故障数|盏|integer|1h|隧道监控系统|JTW|P3|count:0.3,0.1,12,0
## S2.06 市政设施
### S2.06.01 窨井盖
MANHOLE_TILT|井盖倾斜角|°|number|1m|数治窨井盖平台|CGJ|G40|storm:0.6,0.25,0.2
MANHOLE_OPEN|井盖开启状态|-|boolean|1m|数治窨井盖平台|CGJ|G40|prob:0.0005,0.006
MANHOLE_WATER_LEVEL|井下水位|m|number|5m|数治窨井盖平台|CGJ|G10|storm:0.3,0.06,0.03
### S2.06.02 照明与道路
STREETLIGHT_ON_RATE|路灯亮灯率|%|number|1h|智慧路灯平台|CGJ|U|pct:97,1.5,2
ROAD_DAMAGE_REPORTS|道路病害发现数|处|integer|1d|城市管理平台|CGJ|U|count:2,1,10,0.5
## S2.07 通信保障
### S2.07.01 网络运行
BASE_STATION_OUTAGES|通信基站退服数|个|integer|15m|通信网管系统|DXGS|T|count:0.05,0.05,12,0.8
NETWORK_AVAILABILITY|宽带网络可用率|%|number|1h|通信网管系统|YDGS|D|pct:99.8,0.1,12
# S3 社会治理
## S3.01 诉求办理
### S3.01.01 12345热线
HOTLINE_CALLS|12345热线来电量|件|integer|1h|12345热线平台|ZWB|D|count:40,38,10,6
HOTLINE_COMPLAINTS|热线投诉量|件|integer|1h|12345热线平台|ZWB|D|count:10,9,10,2
HOTLINE_ANSWER_RATE|热线接通率|%|number|1h|12345热线平台|ZWB|D|pct:95,3,10
HOTLINE_SATISFACTION|诉求办理满意率|%|number|1d|12345热线平台|ZWB|D|trend:93,0.02,1.2,100
HOTLINE_OVERDUE|诉求超期件数|件|integer|1d|12345热线平台|ZWB|T|count:0.5,0.3,10,0
### S3.01.02 民呼我为
CITIZEN_APP_REPORTS|"民呼我为"诉求量|件|integer|1h|民呼我为平台|ZWB|T|count:1.2,1,11,0.2
CITIZEN_APP_CLOSED_RATE|"民呼我为"办结率|%|number|1d|民呼我为平台|ZWB|T|trend:96,0.02,1,100
## S3.02 网格治理
### S3.02.01 网格巡查
GRID_PATROL_COVERAGE|网格巡查覆盖率|%|number|1d|网格化管理平台|C|T|trend:92,0.05,2,100
GRID_EVENTS_REPORTED|网格员上报事件数|件|integer|1h|网格化管理平台|C|T|count:2,2,11,0
GRID_EVENTS_SELF_HANDLED|网格内自办结率|%|number|1d|网格化管理平台|C|T|trend:78,0.1,2,100
GRID_WORKER_ONLINE|网格员在线率|%|number|1h|网格化管理平台|C|T|pct:85,10,11
### S3.02.02 矛盾纠纷
DISPUTES_NEW|新增矛盾纠纷数|件|integer|1d|矛盾纠纷调解平台|SFJ|T|count:1,0.5,10,0
DISPUTES_RESOLVED_RATE|矛盾纠纷化解率|%|number|1d|矛盾纠纷调解平台|SFJ|T|trend:94,0.03,1.5,100
PETITIONS|信访件数|件|integer|1d|信访信息系统|XFB|D|count:8,4,10,0
PETITIONS_REPEAT|重复信访件数|件|integer|1d|信访信息系统|XFB|D|count:1,0.5,10,0
## S3.03 社会治安
### S3.03.01 治安防控
POLICE_CALLS|110警情数|起|integer|1h|公安警情系统|GAJ|D|count:6,5,21,0.5
THEFT_CASES|盗窃类警情|起|integer|1d|公安警情系统|GAJ|T|count:0.6,0.3,10,0
CAMERA_ONLINE_RATE|视频监控在线率|%|number|1h|雪亮工程平台|GAJ|T|pct:95,2,12
FRAUD_LOSS|电信诈骗涉案金额|万元|number|1d|反诈平台|GAJ|D|flat:12,6
### S3.03.02 重点人群
KEY_PERSON_CONTROLLED|重点人员管控率|%|number|1d|综治平台|GAJ|T|trend:99,0.01,0.5,100
COMMUNITY_CORRECTION|社区矫正对象在册数|人|integer|1d|社区矫正平台|SFJ|D|trend:210,0.1,2,1000
## S3.04 人口服务
### S3.04.01 人口动态
FLOATING_POPULATION|流动人口登记数|人|integer|1d|人口信息系统|GAJ|U|trend:5200,2,30,100000
ELDERLY_ALONE_VISITED|独居老人走访率|%|number|1d|民政服务平台|MZJ|T|trend:90,0.05,2,100
# S4 应急动员
## S4.01 气象灾害
### S4.01.01 降雨
RAINFALL_1H|小时降雨量|mm|number|5m|气象自动站|QXJ|T|rain
RAINFALL_24H|24小时累计降雨量|mm|number|1h|气象自动站|QXJ|T|rain24
### S4.01.02 其他气象
AIR_TEMPERATURE|气温|℃|number|10m|气象自动站|QXJ|S|diurnal:27,5,0.4,15
WIND_SPEED|平均风速|m/s|number|10m|气象自动站|QXJ|S|storm:2.2,0.25,0.6
HUMIDITY|相对湿度|%|number|10m|气象自动站|QXJ|S|diurnal:72,-14,2,5
LIGHTNING_STRIKES|雷电次数|次|integer|10m|雷电监测网|QXJ|D|storm:0,0.6,0
## S4.02 地质灾害
### S4.02.01 隐患点监测
LANDSLIDE_DISPLACEMENT|滑坡体位移|mm|number|15m|地灾监测预警平台|GHZYJ|P6|landslide:1.5
LANDSLIDE_RAIN_GAUGE|地灾点雨量|mm|number|15m|地灾监测预警平台|GHZYJ|P6|rain_point
CRACK_WIDTH|裂缝宽度|mm|number|1h|地灾监测预警平台|GHZYJ|P4|landslide:3
HAZARD_POINTS_PATROLLED|地灾隐患点巡查率|%|number|1d|地灾监测预警平台|GHZYJ|D|trend:95,0.05,2,100
## S4.03 森林防火
### S4.03.01 火情监测
FOREST_FIRE_RISK|森林火险等级|级|integer|1d|森林防火平台|LYJ|S|flat:2,0.6
FIRE_POINTS|卫星遥感热点数|个|integer|1h|森林防火平台|LYJ|D|count:0.02,0.02,14,0
FOREST_CAMERA_ONLINE|林区视频在线率|%|number|1h|森林防火平台|LYJ|D|pct:93,3,12
## S4.04 消防安全
### S4.04.01 火警与设施
FIRE_ALARMS|火警数|起|integer|1h|消防接处警系统|XFZD|D|count:0.4,0.3,18,0
HYDRANT_PRESSURE|市政消火栓压力|MPa|number|15m|智慧消防平台|XFZD|G10|diurnal:0.3,-0.03,0.01,20
SMOKE_DETECTOR_ALARMS|独立烟感报警数|次|integer|1h|智慧消防平台|XFZD|U|count:0.3,0.2,19,0
FIRE_LANE_BLOCKED|消防通道占用告警|次|integer|1h|智慧消防平台|XFZD|U|count:0.4,0.4,21,0
## S4.05 应急保障
### S4.05.01 队伍与物资
RESCUE_TEAMS_READY|应急队伍在岗数|支|integer|1d|应急指挥平台|YJJ|D|flat:46,1
RELIEF_SUPPLIES|救灾物资储备达标率|%|number|1d|应急指挥平台|YJJ|D|trend:96,0.01,0.5,100
SHELTERS_OPEN|开放避难场所数|个|integer|1h|应急指挥平台|YJJ|D|storm:0,0.4,0
EVACUATED_PEOPLE|转移避险人数|人|integer|1h|应急指挥平台|YJJ|T|storm:0,3,0
### S4.05.02 安全生产
HAZMAT_SITES_ONLINE|危化企业监测在线率|%|number|1h|安全生产监管平台|YJJ|D|pct:97,1.5,12
CONSTRUCTION_CRANE_ALARMS|塔吊安全告警数|次|integer|1h|智慧工地平台|ZJW|U|count:0.2,0.3,14,0.5
DEEP_PIT_DISPLACEMENT|深基坑位移|mm|number|1h|智慧工地平台|ZJW|P4|landslide:0.8
## S4.06 地震
### S4.06.01 地震监测
EARTHQUAKE_EVENTS|有感地震次数|次|integer|1d|地震速报系统|DZJ|D|count:0.02,0,12,0
# S5 文明创建
## S5.01 市容环境
### S5.01.01 环卫
GARBAGE_FILL|垃圾站满溢度|%|number|15m|智慧环卫平台|CGJ|G30|sawtooth:10,95,20
GARBAGE_COLLECTED|生活垃圾清运量|吨|number|1d|智慧环卫平台|CGJ|T|flat:28,3
SANITATION_VEHICLES_ONLINE|环卫车辆在线率|%|number|1h|智慧环卫平台|CGJ|D|pct:92,6,10
PUBLIC_TOILET_FAULTS|公厕设施故障数|个|integer|1h|智慧环卫平台|CGJ|U|count:0.1,0.1,12,0
### S5.01.02 街面秩序
STREET_VENDING|占道经营发现数|起|integer|1h|城市管理平台|CGJ|U|count:1,1.2,18,0
AD_VIOLATIONS|违规广告发现数|起|integer|1d|城市管理平台|CGJ|U|count:1.5,0.5,10,0
CONSTRUCTION_DUST_ALARMS|工地扬尘超标告警|次|integer|1h|扬尘监测平台|ZJW|U|count:0.15,0.2,14,0
MUCK_TRUCK_VIOLATIONS|渣土车违规数|起|integer|1h|渣土车监管平台|CGJ|D|count:0.3,0.4,1,0
## S5.02 文明交通
### S5.02.01 交通秩序
TRAFFIC_VIOLATIONS|交通违法抓拍数|起|integer|1h|交通管理平台|JXJ|U|count:12,10,18,0
TRAFFIC_ACCIDENTS|交通事故数|起|integer|1h|交通管理平台|JXJ|D|count:0.6,0.5,18,0.6
ELECTRIC_BIKE_HELMET|电动车头盔佩戴率|%|number|1d|交通管理平台|JXJ|U|trend:86,0.05,2,100
## S5.03 志愿服务
### S5.03.01 志愿活动
VOLUNTEER_ACTIVITIES|志愿服务活动数|场|integer|1d|志愿服务平台|TW|T|count:2,1,10,0
VOLUNTEERS_ACTIVE|活跃志愿者人数|人|integer|1d|志愿服务平台|TW|D|trend:5200,3,60,100000
CIVILITY_INSPECTION_SCORE|文明城区测评得分|分|number|1d|文明创建测评系统|C|T|trend:88,0.02,1.5,100
# S6 生态景观
## S6.01 大气环境
### S6.01.01 空气质量
AQI|空气质量指数(AQI)|-|integer|1h|空气质量监测站|STHJJ|S|diurnal:62,18,6,9
PM25|细颗粒物(PM2.5)|μg/m³|number|1h|空气质量监测站|STHJJ|S|diurnal:34,10,4,8
PM10|可吸入颗粒物(PM10)|μg/m³|number|1h|空气质量监测站|STHJJ|S|diurnal:56,16,6,8
O3|臭氧(O₃)|μg/m³|number|1h|空气质量监测站|STHJJ|S|diurnal:96,44,8,15
NO2|二氧化氮(NO₂)|μg/m³|number|1h|空气质量监测站|STHJJ|S|diurnal:24,9,3,8
SO2|二氧化硫(SO₂)|μg/m³|number|1h|空气质量监测站|STHJJ|S|flat:7,1.2
GOOD_AIR_DAYS|空气优良天数比例|%|number|1d|空气质量监测站|STHJJ|D|trend:88,0.01,0.5,100
### S6.01.02 污染源
ENTERPRISE_EMISSION_ALARMS|重点排污企业超标告警|次|integer|1h|污染源在线监控|STHJJ|D|count:0.05,0.05,3,0
RESTAURANT_FUME|餐饮油烟浓度|mg/m³|number|15m|油烟在线监测|STHJJ|G10|diurnal:0.9,0.8,0.1,12
## S6.02 水环境
### S6.02.01 断面水质
WATER_COD|断面化学需氧量(COD)|mg/L|number|4h|水质自动站|STHJJ|W|storm:14,0.25,1
WATER_AMMONIA|断面氨氮|mg/L|number|4h|水质自动站|STHJJ|W|storm:0.45,0.02,0.05
WATER_DO|断面溶解氧|mg/L|number|4h|水质自动站|STHJJ|W|diurnal:7.2,1.1,0.2,15
WATER_QUALITY_CLASS|断面水质类别|类|integer|1d|水质自动站|STHJJ|W|flat:3,0.3
### S6.02.02 污水与黑臭水体
SEWAGE_OUTFALL_ALARMS|排污口异常告警|次|integer|1h|入河排污口监管|STHJJ|D|count:0.03,0.03,3,0.2
BLACK_ODOROUS_POINTS|黑臭水体返黑点位|处|integer|1d|水环境巡查系统|STHJJ|D|flat:0.3,0.4
## S6.03 声环境
### S6.03.01 噪声
NOISE_DAY|区域环境噪声|dB(A)|number|15m|噪声自动监测站|STHJJ|U|diurnal:56,8,1.2,17
NOISE_COMPLAINTS|噪声扰民投诉|件|integer|1h|12345热线平台|STHJJ|D|count:0.8,0.9,22,0
## S6.04 园林绿化
### S6.04.01 绿地养护
GREEN_COVERAGE|建成区绿化覆盖率|%|number|1d|园林绿化管理系统|CGJ|D|trend:42.5,0.005,0.05,100
TREES_DAMAGED|行道树倒伏损坏|株|integer|1h|园林绿化管理系统|CGJ|U|storm:0,0.08,0
PARK_VISITORS|公园实时游客数|人|integer|15m|智慧公园平台|CGJ|P4|count:300,280,16,0
SOIL_MOISTURE|绿地土壤墒情|%|number|1h|园林绿化管理系统|CGJ|P4|storm:28,0.4,1
# S7 生产生活服务
## S7.01 交通出行
### S7.01.01 停车
PARKING_OCCUPANCY|停车场泊位占用率|%|number|5m|智慧停车平台|JTW|P12|pct:55,35,11
ONSTREET_PARKING_OCCUPANCY|路内泊位占用率|%|number|5m|智慧停车平台|JTW|U|pct:48,38,18
PARKING_FREE_SPACES|空余泊位数|个|integer|5m|智慧停车平台|JTW|D|count:2200,900,4,0
### S7.01.02 道路与公交
CONGESTION_INDEX|道路拥堵指数|-|number|5m|交通态势平台|JXJ|U|diurnal:1.35,0.45,0.05,18
AVERAGE_SPEED|主干道平均车速|km/h|number|5m|交通态势平台|JXJ|U|diurnal:38,-12,2,18
BUS_ON_TIME|公交准点率|%|number|1h|智能公交系统|JTW|D|pct:91,5,18
BUS_PASSENGERS|公交客运量|人次|integer|1h|智能公交系统|JTW|D|count:3200,3000,8,0
TAXI_ONLINE|出租车在线数|辆|integer|15m|出租车监管平台|JTW|D|count:420,160,19,0
TOLL_TRAFFIC|高速出入口流量|辆/小时|integer|1h|高速公路联网|JTW|P2|count:900,700,17,0
## S7.02 民生服务
### S7.02.01 医疗卫生
HOSPITAL_WAITING|医院候诊人数|人|integer|15m|智慧医疗平台|WJW|P4|count:180,170,10,0
ER_VISITS|急诊就诊人次|人次|integer|1h|智慧医疗平台|WJW|D|count:22,14,20,3
HOSPITAL_BED_USE|住院床位使用率|%|number|1d|智慧医疗平台|WJW|D|trend:86,0.05,2,100
FEVER_CLINIC_VISITS|发热门诊就诊数|人次|integer|1h|传染病监测系统|WJW|D|count:6,5,10,0
AMBULANCE_RESPONSE|120平均到达时长|分钟|number|1h|120急救调度|WJW|D|flat:13,2
### S7.02.02 教育与养老
SCHOOL_ATTENDANCE|中小学出勤率|%|number|1d|智慧教育平台|JW|T|trend:98,0.01,0.5,100
CAMPUS_SAFETY_ALARMS|校园安全告警数|次|integer|1h|智慧教育平台|JW|D|count:0.1,0.1,8,0
ELDERLY_CARE_BEDS|养老床位入住率|%|number|1d|智慧养老平台|MZJ|D|trend:68,0.05,1,100
ELDERLY_EMERGENCY_CALLS|老人一键呼叫数|次|integer|1h|智慧养老平台|MZJ|D|count:1,0.8,8,0
### S7.02.03 就业与社保
JOB_VACANCIES|招聘岗位数|个|integer|1d|就业服务平台|RSJ|D|trend:3400,5,120,100000
UNEMPLOYMENT_REGISTERED|登记失业人数|人|integer|1d|就业服务平台|RSJ|D|trend:2100,-0.5,20,100000
WAGE_ARREARS_CASES|欠薪投诉件数|件|integer|1d|根治欠薪平台|RSJ|D|count:2,1,10,0
## S7.03 市场供应
### S7.03.01 保供稳价
PORK_PRICE|猪肉零售均价|元/斤|number|1d|价格监测系统|FZGGW|D|trend:15.8,0.01,0.2,100
VEGETABLE_PRICE|蔬菜零售均价|元/斤|number|1d|价格监测系统|FZGGW|D|storm:3.6,0.01,0.1
GRAIN_RESERVE|成品粮油储备达标率|%|number|1d|粮食储备监管|FZGGW|D|trend:100,0,0.1,100
FOOD_SAFETY_SAMPLES|食品安全抽检合格率|%|number|1d|食品安全监管平台|SCJGJ|D|trend:98.2,0.01,0.5,100
MARKET_COMPLAINTS|消费投诉件数|件|integer|1d|12315平台|SCJGJ|D|count:12,5,10,0
### S7.03.02 特种设备
ELEVATOR_TRAPPED|电梯困人故障数|起|integer|1h|电梯安全监测平台|SCJGJ|U|count:0.1,0.15,8,0.2
ELEVATOR_ONLINE|电梯物联网在线率|%|number|1h|电梯安全监测平台|SCJGJ|D|pct:96,2,12
## S7.04 政务服务
### S7.04.01 办件
GOV_APPLICATIONS|政务服务办件量|件|integer|1h|一体化政务服务平台|ZWB|D|workday:90,85,10
GOV_ONLINE_RATE|全程网办率|%|number|1d|一体化政务服务平台|ZWB|D|trend:78,0.1,1,100
GOV_GOOD_RATINGS|好差评好评率|%|number|1d|一体化政务服务平台|ZWB|D|trend:99.6,0.001,0.2,100
ONE_THING_BUNDLES|"一件事一次办"办件量|件|integer|1d|一体化政务服务平台|ZWB|D|count:35,15,10,0
WINDOW_WAITING|政务大厅等候人数|人|integer|15m|政务大厅排队系统|ZWB|D|workday:35,30,10
## S7.05 农业农村
### S7.05.01 农业生产
CROP_PEST_ALERTS|病虫害监测预警点数|个|integer|1d|农业物联网平台|NYNCW|D|count:1,0.5,10,0
GREENHOUSE_TEMPERATURE|大棚温度|℃|number|15m|农业物联网平台|NYNCW|P6|diurnal:26,7,0.6,14
IRRIGATION_WATER|灌区取水量|m³/h|number|1h|灌区信息化平台|SLJ|P3|diurnal:420,150,20,10
RURAL_WATER_SUPPLY|农村供水保障率|%|number|1d|农村供水监管平台|SLJ|T|trend:97,0.01,0.5,100
## S7.06 旅游文化
### S7.06.01 景区
SCENIC_VISITORS|大足石刻景区在园人数|人|integer|15m|智慧旅游平台|WLW|P2|count:1800,1700,13,0
SCENIC_CAPACITY_RATE|景区承载率|%|number|15m|智慧旅游平台|WLW|P2|pct:35,30,13
HOTEL_OCCUPANCY|酒店入住率|%|number|1d|智慧旅游平台|WLW|D|trend:62,0.05,4,100
## S7.07 经济运行
### S7.07.01 企业与用能
INDUSTRIAL_POWER|工业用电量|万kWh|number|1d|经济运行监测|JXW|D|trend:180,0.1,8,1000
ENTERPRISES_NEW|新增市场主体数|户|integer|1d|市场主体登记系统|SCJGJ|D|count:45,20,10,0
TAX_REVENUE|税收收入|万元|number|1d|财税运行监测|CZJ|D|trend:1600,0.5,150,100000
"""
