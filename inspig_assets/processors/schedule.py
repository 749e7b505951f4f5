"""Schedule processor: the next week's planned matings, checks, farrowings, weanings, vaccines."""

from inspig_assets import planner
from inspig_assets.model import (
    FarmData,
    RunContext,
    date_of,
    mmdd,
)
from inspig_assets.processors.base import Done, ProcessorResult, Result, slots, sub
from inspig_assets.processors.herd import config_values


# -- Schedule --------------------------------------------------------------------------------------
def schedule_processor(farm: FarmData, ctx: RunContext, done: Done) -> Result:
    """SCHEDULE: this week's planned matings, checks, farrowings, weanings, vaccines, shipments."""
    cfg = config_values(done)
    this_week = ctx.week.next
    base = ctx.week.dt_to.toordinal()
    plans = {job: planner.plan_job(farm, job, this_week, base, cfg) for job in planner.JOBS}
    imsin = plans[planner.JOB_PREGNANCY]
    ship = planner.planned_shipments(farm, this_week, cfg)
    days = [d.toordinal() for d in this_week.days()]
    cal_labels = slots("str", [f"{date_of(d).day:02d}" for d in days])
    summary = sub(
        "SCHEDULE",
        1,
        cnt_1=plans[planner.JOB_MATING].total,
        cnt_2=imsin.total,
        cnt_3=plans[planner.JOB_FARROWING].total,
        cnt_4=plans[planner.JOB_WEANING].total,
        cnt_5=plans[planner.JOB_VACCINE].total,
        cnt_6=ship,
        cnt_7=this_week.week_no,
        str_1=mmdd(days[0]),
        str_2=mmdd(days[-1]),
    )
    rows = [summary]
    cal: list[tuple[str, list[int]]] = [
        ("GB", plans[planner.JOB_MATING].daily),
        ("BM", plans[planner.JOB_FARROWING].daily),
    ]
    if imsin.method == "farm":
        cal += [("IMSIN_3W", imsin.daily_3w), ("IMSIN_4W", imsin.daily_4w)]
    else:
        cal.append(("IMSIN", imsin.daily))
    cal += [("EU", plans[planner.JOB_WEANING].daily), ("VACCINE", plans[planner.JOB_VACCINE].daily)]
    for sort_no, (code, daily) in enumerate(cal, start=1):
        rows.append(
            sub("SCHEDULE", sort_no, "CAL", code_1=code, **cal_labels, **slots("cnt", daily))
        )
    for job, popup in planner.POPUPS.items():
        plan = plans[job]
        for sort_no, item in enumerate(plan.items, start=1):
            row = sub(
                "SCHEDULE",
                sort_no,
                popup,
                str_1=item.name,
                str_2=item.std_cd,
                str_3=item.status_cd,
                str_4=item.pass_text,
                **slots("cnt", [sum(item.daily), *item.daily]),
            )
            if popup == "VACCINE":
                row["str_5"] = item.article or "-"
            rows.append(row)
    rows.append(
        sub(
            "SCHEDULE",
            1,
            "HELP",
            str_1=plans[planner.JOB_MATING].hint,
            str_2=plans[planner.JOB_FARROWING].hint,
            str_3=plans[planner.JOB_WEANING].hint,
            str_4=plans[planner.JOB_VACCINE].hint,
            str_5=planner.shipment_hint(this_week, cfg),
            str_6=imsin.hint_3w,
            str_7=imsin.hint_4w,
        )
    )
    rows.append(
        sub(
            "SCHEDULE",
            1,
            "METHOD",
            **slots(
                "str",
                [
                    plans[job].method
                    for job in (
                        planner.JOB_MATING,
                        planner.JOB_FARROWING,
                        planner.JOB_PREGNANCY,
                        planner.JOB_WEANING,
                        planner.JOB_VACCINE,
                    )
                ],
            ),
        )
    )
    header = {
        "this_gb_sum": plans[planner.JOB_MATING].total,
        "this_imsin_sum": imsin.total,
        "this_bm_sum": plans[planner.JOB_FARROWING].total,
        "this_eu_sum": plans[planner.JOB_WEANING].total,
        "this_vaccine_sum": plans[planner.JOB_VACCINE].total,
        "this_ship_sum": ship,
    }
    return ProcessorResult(rows, header)
