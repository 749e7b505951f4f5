"""PigPlan source tables and InsightPig target tables, declared once for Oracle and PostgreSQL.

Names are lower case (SQLAlchemy maps them to Oracle's upper case) and carry no schema: the Oracle
user or the PostgreSQL search path decides where they live.
"""

import sqlalchemy as sa

metadata = sa.MetaData()

S = sa.String
N = sa.Numeric
I = sa.Integer  # noqa: E741

# -- farm and subscription --------------------------------------------------------------------
ta_farm = sa.Table(
    "ta_farm",
    metadata,
    sa.Column("farm_no", I, primary_key=True, autoincrement=False),
    sa.Column("farm_nm", S(100)),
    sa.Column("principal_nm", S(50)),
    sa.Column("sigun_cd", S(10)),
    sa.Column("country_code", S(3), server_default="KOR"),
    sa.Column("use_yn", S(1), server_default="Y"),
    sa.Column("test_yn", S(1), server_default="N"),
    sa.Column("map_x_n", N(12, 7)),
    sa.Column("map_y_n", N(12, 7)),
    sa.Column("weather_nx_n", I),
    sa.Column("weather_ny_n", I),
    sa.Column("asos_stn_id", I),
    sa.Column("asos_stn_nm", S(50)),
    sa.Column("asos_dist_km", N(8, 2)),
    sa.Column("log_upt_dt", sa.DateTime),
)

# PigPlan members; USER_OK_CD '991002' = approved (used only by the monthly productivity).
ta_member = sa.Table(
    "ta_member",
    metadata,
    sa.Column("member_id", S(50), primary_key=True),
    sa.Column("farm_no", I, index=True),
    sa.Column("user_ok_cd", S(10)),
)
MEMBER_APPROVED = "991002"

ts_ins_service = sa.Table(
    "ts_ins_service",
    metadata,
    sa.Column("farm_no", I, primary_key=True, autoincrement=False),
    sa.Column("inspig_reg_dt", S(8), primary_key=True),
    sa.Column("inspig_yn", S(1)),
    sa.Column("inspig_from_dt", S(8)),
    sa.Column("inspig_to_dt", S(8)),
    sa.Column("inspig_stop_dt", S(8)),
    sa.Column("web_pay_yn", S(1)),
    sa.Column("reg_type", S(10), server_default="AUTO"),
    sa.Column("use_yn", S(1), server_default="Y"),
    sa.Column("bigo", S(500)),
    sa.Column("schedule_group_week", S(10), server_default="AM7"),
    sa.Column("schedule_group_month", S(10), server_default="AM7"),
    sa.Column("schedule_group_quarter", S(10), server_default="AM7"),
    sa.Column("log_ins_dt", sa.DateTime),
    sa.Column("log_upt_dt", sa.DateTime),
)

ta_sys_config = sa.Table(
    "ta_sys_config",
    metadata,
    sa.Column("seq", I, primary_key=True, autoincrement=False),
    sa.Column("ins_schedule_yn", S(1)),
    sa.Column("test_tel", S(20)),
)

tc_code_sys = sa.Table(
    "tc_code_sys",
    metadata,
    sa.Column("pcode", S(2), primary_key=True),
    sa.Column("code", S(6), primary_key=True),
    sa.Column("language_cd", S(2), primary_key=True),
    sa.Column("code_nm", S(100)),
    sa.Column("cvalue", S(50)),
    sa.Column("sort_no", I),
    sa.Column("use_yn", S(1), server_default="Y"),
)

tc_farm_config = sa.Table(
    "tc_farm_config",
    metadata,
    sa.Column("farm_no", I, primary_key=True, autoincrement=False),
    sa.Column("code", S(6), primary_key=True),
    sa.Column("cvalue", S(50)),
    sa.Column("use_yn", S(1), server_default="Y"),
)

ts_ins_conf = sa.Table(
    "ts_ins_conf",
    metadata,
    sa.Column("farm_no", I, primary_key=True, autoincrement=False),
    sa.Column("week_tw_gy", S(1000)),
    sa.Column("week_tw_bm", S(1000)),
    sa.Column("week_tw_im", S(1000)),
    sa.Column("week_tw_eu", S(1000)),
    sa.Column("week_tw_vc", S(1000)),
    sa.Column("log_ins_dt", sa.DateTime),
    sa.Column("log_upt_dt", sa.DateTime),
)

tb_plan_modon = sa.Table(
    "tb_plan_modon",
    metadata,
    sa.Column("farm_no", I, primary_key=True, autoincrement=False),
    sa.Column("seq", I, primary_key=True, autoincrement=False),
    sa.Column("wk_nm", S(100)),
    sa.Column("std_cd", S(6)),
    sa.Column("pass_day", I),
    sa.Column("modon_status_cd", S(6)),
    sa.Column("job_gubun_cd", S(6)),
    sa.Column("use_yn", S(1), server_default="Y"),
    sa.Column("bf_pass_yn", S(1), server_default="N"),
    sa.Column("hcode", S(10)),
    sa.Column("s_sancha", I),
    sa.Column("e_sancha", I),
)

# -- sows and events ----------------------------------------------------------------------------
tb_modon = sa.Table(
    "tb_modon",
    metadata,
    sa.Column("farm_no", I, primary_key=True, autoincrement=False),
    sa.Column("pig_no", I, primary_key=True, autoincrement=False),
    sa.Column("farm_pig_no", S(20)),
    sa.Column("birth_dt", sa.Date),
    sa.Column("in_dt", sa.Date),
    sa.Column("last_wk_dt", sa.Date),
    sa.Column("out_dt", sa.Date),
    sa.Column("in_sancha", I, server_default="0"),
    sa.Column("in_gyobae_cnt", I, server_default="0"),
    sa.Column("status_cd", S(6)),
    sa.Column("out_gubun_cd", S(6)),
    sa.Column("out_reason_cd", S(6)),
    sa.Column("use_yn", S(1), server_default="Y"),
)

tb_modon_wk = sa.Table(
    "tb_modon_wk",
    metadata,
    sa.Column("farm_no", I, primary_key=True, autoincrement=False),
    sa.Column("pig_no", I, primary_key=True, autoincrement=False),
    sa.Column("wk_dt", S(8), primary_key=True),
    sa.Column("wk_gubun", S(1), primary_key=True),
    sa.Column("wk_date", sa.Date),
    sa.Column("sancha", I),
    sa.Column("gyobae_cnt", I),
    sa.Column("loc_cd", S(10)),
    sa.Column("sago_gubun_cd", S(6)),
    sa.Column("daeri_yn", S(1), server_default="N"),
    sa.Column("seq", I),
    sa.Column("use_yn", S(1), server_default="Y"),
)

tb_gyobae = sa.Table(
    "tb_gyobae",
    metadata,
    sa.Column("farm_no", I, primary_key=True, autoincrement=False),
    sa.Column("pig_no", I, primary_key=True, autoincrement=False),
    sa.Column("wk_dt", S(8), primary_key=True),
    sa.Column("method_1", S(6)),
    sa.Column("ungdon_pig_no_1", I),
    sa.Column("ungdon_pig_no_2", I),
    sa.Column("ungdon_pig_no_3", I),
    sa.Column("use_yn", S(1), server_default="Y"),
)

tb_bunman = sa.Table(
    "tb_bunman",
    metadata,
    sa.Column("farm_no", I, primary_key=True, autoincrement=False),
    sa.Column("pig_no", I, primary_key=True, autoincrement=False),
    sa.Column("wk_dt", S(8), primary_key=True),
    sa.Column("silsan", I),
    sa.Column("sasan", I),
    sa.Column("mila", I),
    sa.Column("saengsi_kg", N(6, 2)),
    sa.Column("use_yn", S(1), server_default="Y"),
)

tb_eu = sa.Table(
    "tb_eu",
    metadata,
    sa.Column("farm_no", I, primary_key=True, autoincrement=False),
    sa.Column("pig_no", I, primary_key=True, autoincrement=False),
    sa.Column("wk_dt", S(8), primary_key=True),
    sa.Column("dusu", I),
    sa.Column("dusu_su", I),
    sa.Column("ilryung", I),
    sa.Column("total_kg", N(8, 2)),
    sa.Column("daeri_yn", S(1), server_default="N"),
    sa.Column("use_yn", S(1), server_default="Y"),
)

tb_sago = sa.Table(
    "tb_sago",
    metadata,
    sa.Column("farm_no", I, primary_key=True, autoincrement=False),
    sa.Column("pig_no", I, primary_key=True, autoincrement=False),
    sa.Column("wk_dt", S(8), primary_key=True),
    sa.Column("sago_gubun_cd", S(6)),
    sa.Column("bigo", S(200)),
    sa.Column("use_yn", S(1), server_default="Y"),
)

tb_modon_jadon_trans = sa.Table(
    "tb_modon_jadon_trans",
    metadata,
    sa.Column("farm_no", I, primary_key=True, autoincrement=False),
    sa.Column("pig_no", I, primary_key=True, autoincrement=False),
    sa.Column("seq", I, primary_key=True, autoincrement=False),
    sa.Column("sancha", I),
    sa.Column("gubun_cd", S(6)),
    sa.Column("wk_dt", sa.Date),
    sa.Column("bun_dt", sa.Date),
    sa.Column("dusu", I, server_default="0"),
    sa.Column("dusu_su", I, server_default="0"),
    sa.Column("use_yn", S(1), server_default="Y"),
)

tm_lpd_data = sa.Table(
    "tm_lpd_data",
    metadata,
    sa.Column("farm_no", I, primary_key=True, autoincrement=False),
    sa.Column("lpd_seq", I, primary_key=True, autoincrement=False),
    sa.Column("dochuk_dt", S(10)),
    sa.Column("net_kg", N(6, 1)),
    sa.Column("back_depth", N(5, 1)),
    sa.Column("meat_quality", S(4)),
    sa.Column("sex_gubun", S(10)),
    sa.Column("use_yn", S(1), server_default="Y"),
)

tm_etc_trade = sa.Table(
    "tm_etc_trade",
    metadata,
    sa.Column("farm_no", I, primary_key=True, autoincrement=False),
    sa.Column("seq", I, primary_key=True, autoincrement=False),
    sa.Column("wk_dt", sa.Date),
    sa.Column("account_cd", S(10)),
    sa.Column("total_price", N(15, 0)),
    sa.Column("total_kg", N(12, 1)),
    sa.Column("use_yn", S(1), server_default="Y"),
)

tm_sisae_detail = sa.Table(
    "tm_sisae_detail",
    metadata,
    sa.Column("abattcd", S(6), primary_key=True),
    sa.Column("start_dt", S(8), primary_key=True),
    sa.Column("grade_cd", S(4), primary_key=True),
    sa.Column("seq", I, primary_key=True, autoincrement=False),
    sa.Column("skin_yn", S(1)),
    sa.Column("judgesex_cd", S(4)),
    sa.Column("auctcnt", I),
    sa.Column("auctamt", N(10, 0)),
)

SOURCE_TABLES: tuple[sa.Table, ...] = (
    ta_farm,
    ta_member,
    ts_ins_service,
    ta_sys_config,
    tc_code_sys,
    tc_farm_config,
    ts_ins_conf,
    tb_plan_modon,
    tb_modon,
    tb_modon_wk,
    tb_gyobae,
    tb_bunman,
    tb_eu,
    tb_sago,
    tb_modon_jadon_trans,
    tm_lpd_data,
    tm_etc_trade,
    tm_sisae_detail,
)

# -- targets -------------------------------------------------------------------------------------
seq_ts_ins_master = sa.Sequence("seq_ts_ins_master", metadata=metadata)
seq_ts_ins_job_log = sa.Sequence("seq_ts_ins_job_log", metadata=metadata)
seq_ts_productivity = sa.Sequence("seq_ts_productivity", metadata=metadata)


def _seq_pk(sequence: sa.Sequence) -> sa.Column:
    # The sequence is also the server default so that bulk COPY can leave SEQ out.
    return sa.Column(
        "seq", sa.BigInteger, sequence, server_default=sequence.next_value(), primary_key=True
    )


ts_ins_master = sa.Table(
    "ts_ins_master",
    metadata,
    _seq_pk(seq_ts_ins_master),
    sa.Column("day_gb", S(10), nullable=False),
    sa.Column("ins_dt", S(8)),
    sa.Column("report_year", I, nullable=False),
    sa.Column("report_week_no", I, nullable=False),
    sa.Column("dt_from", S(8)),
    sa.Column("dt_to", S(8)),
    sa.Column("target_cnt", I, server_default="0"),
    sa.Column("complete_cnt", I, server_default="0"),
    sa.Column("error_cnt", I, server_default="0"),
    sa.Column("status_cd", S(10), server_default="READY"),
    sa.Column("start_dt", sa.DateTime(timezone=True)),
    sa.Column("end_dt", sa.DateTime(timezone=True)),
    sa.Column("elapsed_sec", I, server_default="0"),
    sa.Column("log_ins_dt", sa.DateTime(timezone=True)),
    sa.UniqueConstraint("day_gb", "report_year", "report_week_no", name="uk_ts_ins_master_01"),
)


def _n(name: str, precision: int = 10, scale: int = 0) -> sa.Column:
    return sa.Column(name, N(precision, scale) if scale else I, server_default="0")


WEEK_INT_COLUMNS: tuple[str, ...] = (
    "modon_reg_cnt", "modon_reg_chg",
    "alert_total", "alert_hubo", "alert_eu_mi", "alert_sg_mi", "alert_bm_delay", "alert_eu_delay",
    "last_gb_cnt", "last_gb_sum",
    "last_bm_cnt", "last_bm_total", "last_bm_live", "last_bm_dead", "last_bm_mummy",
    "last_bm_sum_cnt", "last_bm_sum_total", "last_bm_sum_live",
    "last_eu_cnt", "last_eu_jd_cnt", "last_eu_sum_cnt", "last_eu_sum_jd",
    "last_sg_cnt", "last_sg_sum", "last_cl_cnt", "last_cl_sum", "last_sh_cnt", "last_sh_sum",
    "this_gb_sum", "this_imsin_sum", "this_bm_sum", "this_eu_sum", "this_vaccine_sum",
    "this_ship_sum", "kpi_delay_day", "psy_x", "psy_y",
)  # fmt: skip
WEEK_DEC_COLUMNS: tuple[str, ...] = (
    "last_bm_avg_total", "last_bm_avg_live", "last_bm_sum_avg_total", "last_bm_sum_avg_live",
    "last_bm_chg_total", "last_bm_chg_live",
    "last_eu_avg_jd", "last_eu_avg_kg", "last_eu_sum_avg_jd", "last_eu_chg_jd", "last_eu_chg_kg",
    "last_sg_avg_gyungil", "last_sg_sum_avg_gyungil", "last_sh_avg_kg", "last_sh_avg_sum",
    "kpi_psy",
)  # fmt: skip

ts_ins_week = sa.Table(
    "ts_ins_week",
    metadata,
    sa.Column(
        "master_seq",
        sa.BigInteger,
        sa.ForeignKey("ts_ins_master.seq", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("farm_no", I, primary_key=True, autoincrement=False),
    sa.Column("report_year", I),
    sa.Column("report_week_no", I),
    sa.Column("dt_from", S(8)),
    sa.Column("dt_to", S(8)),
    sa.Column("farm_nm", S(100)),
    sa.Column("owner_nm", S(50)),
    sa.Column("sigungu_cd", S(10)),
    sa.Column("modon_sangsi_cnt", N(10, 2)),
    sa.Column("modon_sangsi_chg", N(10, 2)),
    *[_n(c) for c in WEEK_INT_COLUMNS],
    *[_n(c, 5, 1) for c in WEEK_DEC_COLUMNS],
    sa.Column("psy_zone", S(10)),
    sa.Column("status_cd", S(10), server_default="READY"),
    sa.Column("share_token", S(64)),
    sa.Column("token_expire_dt", S(8)),
    sa.Column("schedule_group", S(10), server_default="AM7"),
    sa.Column("log_ins_dt", sa.DateTime(timezone=True)),
    sa.Index("ux_ts_ins_week_token", "share_token", unique=True),
)

SUB_SLOTS = range(1, 16)
ts_ins_week_sub = sa.Table(
    "ts_ins_week_sub",
    metadata,
    sa.Column("master_seq", sa.BigInteger, primary_key=True),
    sa.Column("farm_no", I, primary_key=True, autoincrement=False),
    sa.Column("gubun", S(20), primary_key=True),
    sa.Column("sub_gubun", S(20), primary_key=True, server_default="-"),
    sa.Column("sort_no", I, primary_key=True, autoincrement=False),
    sa.Column("code_1", S(30)),
    sa.Column("code_2", S(30)),
    *[sa.Column(f"cnt_{i}", N(10, 2), server_default="0") for i in SUB_SLOTS],
    *[sa.Column(f"val_{i}", N(10, 2), server_default="0") for i in SUB_SLOTS],
    *[sa.Column(f"str_{i}", S(1000)) for i in SUB_SLOTS],
    sa.Column("hint1", S(500)),
    sa.Column("hint2", S(500)),
    sa.Column("hint3", S(500)),
    sa.Column("json_data", sa.Text),
    sa.Column("log_ins_dt", sa.DateTime(timezone=True)),
    sa.ForeignKeyConstraint(
        ["master_seq", "farm_no"],
        ["ts_ins_week.master_seq", "ts_ins_week.farm_no"],
        ondelete="CASCADE",
    ),
)

ts_ins_job_log = sa.Table(
    "ts_ins_job_log",
    metadata,
    _seq_pk(seq_ts_ins_job_log),
    sa.Column("master_seq", sa.BigInteger),
    sa.Column("job_nm", S(50), nullable=False),
    sa.Column("proc_nm", S(50), nullable=False),
    sa.Column("farm_no", I),
    sa.Column("day_gb", S(10)),
    sa.Column("report_year", I),
    sa.Column("report_week_no", I),
    sa.Column("status_cd", S(10)),
    sa.Column("start_dt", sa.DateTime(timezone=True), nullable=False),
    sa.Column("end_dt", sa.DateTime(timezone=True)),
    sa.Column("elapsed_ms", I),
    sa.Column("proc_cnt", I),
    sa.Column("error_cd", S(50)),
    sa.Column("error_msg", S(4000)),
    sa.Column("error_stack", sa.Text),
    sa.Column("log_ins_dt", sa.DateTime(timezone=True)),
)

PRODUCTIVITY_VALUE_COLUMNS: tuple[str, ...] = tuple(f"c{i:03d}" for i in range(1, 44))

ts_productivity = sa.Table(
    "ts_productivity",
    metadata,
    _seq_pk(seq_ts_productivity),
    sa.Column("farm_no", I, nullable=False),
    sa.Column("pcode", S(3), nullable=False),
    sa.Column("stat_year", I, nullable=False),
    sa.Column("period", S(1), nullable=False),
    sa.Column("period_no", I, nullable=False),
    sa.Column("stat_date", S(10)),
    *[sa.Column(c, N(15, 4)) for c in PRODUCTIVITY_VALUE_COLUMNS],
    sa.Column("ins_dt", sa.DateTime(timezone=True)),
    sa.Column("upd_dt", sa.DateTime(timezone=True)),
    sa.UniqueConstraint(
        "farm_no", "pcode", "stat_year", "period", "period_no", name="uk_ts_productivity_01"
    ),
)

# -- weather (read live by the web by farm grid) -------------------------------------------------
seq_tm_weather = sa.Sequence("seq_tm_weather", metadata=metadata)
seq_tm_weather_hourly = sa.Sequence("seq_tm_weather_hourly", metadata=metadata)
_TZ = sa.DateTime(timezone=True)


def _weather_values() -> list[sa.Column]:
    return [
        sa.Column("weather_cd", S(20)),  # sunny cloudy overcast rainy rain_snow snow shower
        sa.Column("weather_nm", S(20)),
        sa.Column("rain_prob", I),
        sa.Column("rain_amt", N(5, 1)),
        sa.Column("humidity", I),
        sa.Column("wind_speed", N(4, 1)),
        sa.Column("wind_dir", I),
        sa.Column("sky_cd", S(1)),  # 1 clear, 3 mostly cloudy, 4 overcast
        sa.Column("is_forecast", S(1), nullable=False),  # Y forecast, N observed
        sa.Column("log_ins_dt", _TZ),
        sa.Column("log_upt_dt", _TZ),
    ]


tm_weather = sa.Table(
    "tm_weather",
    metadata,
    _seq_pk(seq_tm_weather),
    sa.Column("wk_date", S(8), nullable=False),
    sa.Column("nx", I, nullable=False),
    sa.Column("ny", I, nullable=False),
    sa.Column("temp_avg", N(4, 1)),
    sa.Column("temp_high", N(4, 1)),
    sa.Column("temp_low", N(4, 1)),
    sa.Column("fcst_dt", S(12)),  # the issuance (YYYYMMDDHHMM) of a forecast row
    *_weather_values(),
    sa.UniqueConstraint("nx", "ny", "wk_date", name="uk_tm_weather_01"),
)

tm_weather_hourly = sa.Table(
    "tm_weather_hourly",
    metadata,
    _seq_pk(seq_tm_weather_hourly),
    sa.Column("wk_date", S(8), nullable=False),
    sa.Column("wk_time", S(4), nullable=False),  # HHMM
    sa.Column("nx", I, nullable=False),
    sa.Column("ny", I, nullable=False),
    sa.Column("temp", N(4, 1)),
    sa.Column("pty_cd", S(1)),  # 0 none, 1 rain, 2 rain/snow, 3 snow, 4 shower
    sa.Column("base_date", S(8)),
    sa.Column("base_time", S(4)),
    *_weather_values(),
    sa.UniqueConstraint("nx", "ny", "wk_date", "wk_time", name="uk_tm_weather_hourly_01"),
)

tm_weather_asos = sa.Table(
    "tm_weather_asos",
    metadata,
    sa.Column("stn_id", I, primary_key=True, autoincrement=False),
    sa.Column("stn_nm", S(50), nullable=False),
    sa.Column("lat", N(9, 6), nullable=False),
    sa.Column("lon", N(9, 6), nullable=False),
    sa.Column("use_yn", S(1), server_default="Y"),
    sa.Column("log_ins_dt", _TZ),
)

# data.go.kr keys of the KMA calls; API_KEY is stored URL-encoded, REQ_CNT is reset daily.
ts_api_key_info = sa.Table(
    "ts_api_key_info",
    metadata,
    sa.Column("api_key", S(300), primary_key=True),
    sa.Column("create_user", S(50)),
    sa.Column("req_cnt", I, server_default="0"),
)

WEATHER_TABLES: tuple[sa.Table, ...] = (
    tm_weather,
    tm_weather_hourly,
    tm_weather_asos,
    ts_api_key_info,
)

TARGET_TABLES: tuple[sa.Table, ...] = (
    ts_ins_master,
    ts_ins_week,
    ts_ins_week_sub,
    ts_ins_job_log,
    ts_productivity,
)


# -- views ---------------------------------------------------------------------------------------
WEEK_STATUS_VIEW = "vw_ins_week_status"


def week_status_select() -> sa.Select:
    """Each farm's latest report per DAY_GB (by year, week) with master and row COMPLETE."""
    ms, wk = ts_ins_master, ts_ins_week
    latest = sa.func.row_number().over(
        partition_by=(wk.c.farm_no, ms.c.day_gb),
        order_by=(ms.c.report_year.desc(), ms.c.report_week_no.desc()),
    )
    ranked = (
        sa.select(
            wk.c.farm_no,
            ms.c.day_gb,
            wk.c.master_seq,
            wk.c.share_token,
            wk.c.token_expire_dt,
            ms.c.report_year,
            ms.c.report_week_no,
            wk.c.dt_from,
            wk.c.dt_to,
            wk.c.status_cd,
            latest.label("rn"),
        )
        .join(ms, ms.c.seq == wk.c.master_seq)
        .where(ms.c.status_cd == "COMPLETE", wk.c.status_cd == "COMPLETE")
        .subquery("ranked")
    )
    return sa.select(*[c for c in ranked.c if c.name != "rn"]).where(ranked.c.rn == 1)


# The view's columns, for queries (the view is not part of `metadata`: create_all makes it).
vw_ins_week_status = sa.table(
    WEEK_STATUS_VIEW, *[sa.column(c.name, c.type) for c in week_status_select().selected_columns]
)


def week_status_view_ddl(dialect: sa.Dialect) -> str:
    """CREATE OR REPLACE VIEW vw_ins_week_status, in `dialect` (Oracle and PostgreSQL)."""
    query = week_status_select().compile(dialect=dialect, compile_kwargs={"literal_binds": True})
    return f"CREATE OR REPLACE VIEW {WEEK_STATUS_VIEW} AS {query}"


def create_week_status_view(conn: sa.Connection, *, replace: bool = False) -> None:
    """Create vw_ins_week_status when it is missing (or always, with `replace`)."""
    if replace or WEEK_STATUS_VIEW not in sa.inspect(conn).get_view_names():
        conn.execute(sa.text(week_status_view_ddl(conn.dialect)))


def create_all(conn: sa.Connection) -> None:
    """Create every missing table, sequence and view (local schema and tests; prod tables exist)."""
    metadata.create_all(conn, checkfirst=True)
    create_week_status_view(conn)
