"""The one catalogue of Chinese labels for codes the product writes down: timeline actions and outbox topics.

A timeline line names its action by a full code (``event.cancel``, ``task.cancel``, ``supervision.escalate``);
the label belongs to the full code, because one verb means different things to an event and to its task
(an event cancelled is 作废, a task cancelled is 撤销). The web catalogue (``messages_zh``: ``action.<code>``),
the outbox's topic list, supervision's inbox titles and the webhook topic list all read from here;
``tests/unit/test_labels.py`` checks that every action the code writes has a label.

Timeline actions and outbox topics are two namespaces: ``supervision.escalate`` on the timeline is the
sweep sending an unsigned task up (超时未签收上报), as an outbox topic it is a unit declaring a task beyond
its capacity (超出能力上报; its timeline line is ``task.escalate``). Each label says which.

Error texts are not here: they are words of the pages (``messages_zh``: ``error.<code>``), the API
answers in English with a code.
"""

from __future__ import annotations

from typing import Final

#: The event's life (:class:`shuzhi.domain.events.EventAction`) and the other lines about the event.
_EVENT: Final[dict[str, str]] = {
    "event.register": "受理立案",
    "event.notify": "抄送知悉",
    "event.dispatch": "派遣",
    "event.accept": "主办单位签收",
    "event.return": "全部退单，退回中心",
    "event.withdraw": "撤回任务",
    "event.report_back": "反馈完毕，待核查",
    "event.self_handle": "自行处置",
    "event.verify": "核查通过",
    "event.rework": "返工",
    "event.close": "结案",
    "event.all_read": "全部已阅",
    "event.callback_satisfied": "回访满意",
    "event.callback_dissatisfied": "回访不满意",
    "event.reclassify": "重新分类",
    "event.merge": "合并",
    "event.cancel": "作废",
    "event.escalate": "上报上级中心",
    "event.attach": "上传附件",
    "event.auto_dispatch_failed": "自动分拨未成功",
    "event.merged_in": "并入重复件",
    "event.link_repeat": "关联为重复反映",
    "event.notify_failed": "预警抄送未成功",
    "event.patrol_finding": "巡查发现",
    "event.urgency_raise": "提升紧急程度",
    # areas that change (issue #20): an open event re-homed to the successor area
    "event.rehome": "区域变更，转入新区域",
}

#: A task's life (:class:`shuzhi.domain.events.TaskAction`) and its clocks.
_TASK: Final[dict[str, str]] = {
    "task.create": "生成任务",
    "task.read": "已阅",
    "task.accept": "签收",
    "task.return": "退单",
    "task.request_extension": "申请延期",
    "task.approve_extension": "批准延期",
    "task.deny_extension": "驳回延期",
    "task.suspend": "挂起",
    "task.resume": "恢复",
    "task.report_back": "处置反馈",
    "task.verify": "核查通过",
    "task.rework": "返工",
    "task.cancel": "撤销任务",
    "task.escalate": "超出能力上报",
    "task.deadline_moved": "时限调整",
    # the town (issue #20): tasks to named people, boards
    "task.assign": "指派责任人",
    "task.assignee_return": "责任人离岗，任务退回",
    "task.hand_to_board": "转交其他板块",
    "task.rehome": "区域变更，转交接续单位",
    "task.deadline_recomputed": "时限重算",
}

#: Supervision (督查督办): the sweep's steps (:class:`shuzhi.domain.supervision.StepKind`) and the leader's urging.
SUPERVISION: Final[dict[str, str]] = {
    "supervision.remind": "临期提醒",
    "supervision.overdue": "超期",
    "supervision.urge": "自动催办",
    "supervision.yellow_card": "黄牌警告",
    "supervision.red_card": "红牌通报",
    "supervision.accept_timeout": "超时未签收上报",
    "supervision.escalate": "超时未签收上报",
    "supervision.read_remind": "抄送待阅提醒",
    "supervision.read_overdue": "抄送逾期未阅",
    "supervision.leader_urge": "领导督办",
}

#: Plan runs (:mod:`shuzhi.domain.plan_runs`) on the timeline of their event.
_PLAN: Final[dict[str, str]] = {
    "plan.proposed": "提请启动预案",
    "plan.start": "启动预案响应",
    "plan.dismiss": "不启动预案",
    "plan.stand_down": "解除预案响应",
    "plan.release": "前置完成，派发后续任务",
    "plan.cancel_waiting": "预案后续任务随前置任务取消",
    "plan.redispatch": "预案任务改派",
    "plan.blocked": "预案任务等待改派",
    "plan.warning_resolved": "触发预警已解除",
    "plan.trigger_added": "新触发并入预案响应",
    "plan.attached": "已并入预案响应",
}

_OTHER: Final[dict[str, str]] = {
    "notice.sent": "通知已发出",
    "notice.dlr": "短信回执",
    "notice.escalated": "通知升级",
    "notice.failed": "通知未送达",
    "notice.acknowledged": "通知已确认",
    "warning.fired": "预警触发",
    "warning.raised": "预警升级",
    "warning.lowered": "预警降级",
    "warning.resolved": "预警解除",
    "warning.acknowledged": "预警已确认",
    "model.decide": "智能分拨决定",
    "open311.update": "外部系统更新",
    "case.accept": "受理办件",
    "case.dispatch": "分送承办单位",
    "case.release_stage": "进入下一环节",
    "case.tasks_done": "承办完毕",
    "case.wait_materials": "等待补齐容缺材料",
    "case.material_supplied": "补交一项材料",
    "case.materials_supplied": "材料已补齐",
    "case.deliver": "办结送达",
    "case.withdraw": "申请人撤回",
    "case.reject": "不予受理",
    "case.notify_applicant": "告知申请人",
    "case.rated": "申请人评价",
    # svc2: 一枚印章管审批 and 政企双向评价
    "case.approve": "行政审批局审批盖章",
    "whistle.rated_by_enterprise": "企业评价部门办理",
    "whistle.rated_enterprise": "部门评价企业",
    # a risk point's rectification loop (issue #22; the point's own timeline, risk_point_changes)
    "rectification.found": "发现问题，开始整改",
    "rectification.measures": "制定整改措施",
    "rectification.done": "报告整改完成",
    "rectification.verified": "整改验收通过",
    "rectification.rejected": "整改验收不通过",
    "rectification.cancelled": "撤销整改",
    "rectification.reminded": "整改即将到期提醒",
    "rectification.overdue": "整改逾期",
    # svc3: an enterprise's 差评 of the handling is verified like a service 差评
    "whistle.verification_opened": "企业差评转核实整改",
}

#: Every action a line of an event's timeline can name, with its label.
TIMELINE_ACTIONS: Final[dict[str, str]] = {**_EVENT, **_TASK, **SUPERVISION, **_PLAN, **_OTHER}

#: Topics a webhook subscription may ask for (``*`` = all of them), with their labels.
OUTBOX_TOPICS: Final[dict[str, str]] = {
    "supervision.remind": SUPERVISION["supervision.remind"],
    "supervision.overdue": SUPERVISION["supervision.overdue"],
    "supervision.urge": SUPERVISION["supervision.urge"],
    "supervision.yellow_card": SUPERVISION["supervision.yellow_card"],
    "supervision.red_card": SUPERVISION["supervision.red_card"],
    "supervision.accept_timeout": SUPERVISION["supervision.accept_timeout"],
    "supervision.leader_urge": SUPERVISION["supervision.leader_urge"],
    # a unit's own escalation (task.escalate on the timeline), not the sweep's
    "supervision.escalate": _TASK["task.escalate"],
    "service.case_completed": "办件办结告知申请人",
}


def action_label(code: str) -> str:
    """The label of a timeline action; an unknown code shows itself, so a gap is visible."""
    return TIMELINE_ACTIONS.get(code, code)
