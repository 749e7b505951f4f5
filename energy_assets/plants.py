"""The plant registries: KOSPO (Nambu) units by code, KOEN (Namdong) units, and coordinates.

The 31 KOSPO `(gencd, hogi)` pairs are those of the original `plant.json`; a name here is used only
when the API's `ipptnm` is missing. Coordinates are site positions; where the original's two
conflicting dictionaries were wrong (substring matches to Busan City Hall, the Seoul or national
default), the corrected site is used and `coord_source` says so. 율치 remains unresolved (NULL):
the optional Kakao geocoder fills it, and any new plant, from its address.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class NambuUnit:
    """One KOSPO solar unit."""

    gencd: str
    hogi: int
    name: str
    address: str
    latitude: float | None
    longitude: float | None
    capacity_kw: float


@dataclass(frozen=True)
class NamdongUnit:
    """One KOEN solar unit: `plant` is the CSV's 발전구분, `unit` its 호기."""

    plant: str
    unit: int
    address: str
    latitude: float | None
    longitude: float | None
    capacity_kw: float


def _n(
    code: str, hogi: int, name: str, address: str, lat: float, lon: float, kw: float
) -> NambuUnit:
    return NambuUnit(code, hogi, name, address, lat, lon, kw)


NAMBU_UNITS: tuple[NambuUnit, ...] = (
    _n("5707", 1, "영월태양광", "강원 영월군 영월읍", 37.18, 128.46, 1000),
    _n("8760", 1, "하동태양광", "경남 하동군 금성면", 34.95, 127.82, 1000),
    _n("9977", 1, "부산태양광", "부산 사하구 감천동", 35.08, 128.98, 500),
    _n("9979", 1, "남제주태양광", "제주 서귀포시 안덕면", 33.24, 126.32, 1000),
    _n("997D", 1, "신인천전망대태양광", "인천 서구 원창동", 37.52, 126.63, 300),
    _n("997G", 1, "신인천주차장태양광", "인천 서구 원창동", 37.52, 126.64, 400),
    _n("997H", 2, "하동저탄장태양광", "경남 하동군 금성면", 34.94, 127.81, 1500),
    _n("997J", 3, "삼척그린파워태양광", "강원 삼척시 원덕읍", 37.20, 129.33, 2000),
    _n("997K", 1, "안동태양광", "경북 안동시 풍천면", 36.56, 128.53, 800),
    _n("997L", 1, "한림태양광", "제주 제주시 한림읍", 33.41, 126.27, 600),
    _n("997M", 1, "세종태양광", "세종 연기면", 36.50, 127.26, 700),
    _n("997N", 1, "영월본부태양광", "강원 영월군 영월읍", 37.19, 128.47, 500),
    _n("997Q", 1, "신인천소내태양광", "인천 서구 원창동", 37.52, 126.62, 300),
    _n("997R", 1, "하동정수장태양광", "경남 하동군 금성면", 34.96, 127.80, 400),
    _n("997S", 1, "신인천북측부지태양광", "인천 서구 원창동", 37.53, 126.63, 1000),
    _n("997V", 1, "남제주소내태양광", "제주 서귀포시 안덕면", 33.23, 126.31, 300),
    _n("997Y", 1, "부산복합자재창고태양광", "부산 사하구 감천동", 35.08, 128.99, 300),
    _n("9984", 1, "삼척소수력부지태양광", "강원 삼척시 원덕읍", 37.21, 129.32, 500),
    _n("9985", 1, "태백가덕산태양광", "강원 태백시 원동", 37.13, 128.95, 1200),
    _n("9987", 1, "하동본부태양광", "경남 하동군 금성면", 34.95, 127.83, 800),
    _n("9988", 1, "신인천1단계태양광", "인천 서구 원창동", 37.51, 126.63, 900),
    _n("9989", 1, "신인천2단계태양광", "인천 서구 원창동", 37.51, 126.62, 900),
    _n("AC39", 1, "한림2태양광", "제주 제주시 한림읍", 33.40, 126.26, 600),
    _n("B997", 1, "부산본부태양광", "부산 사하구 감천동", 35.09, 128.98, 500),
    _n("B997", 2, "부산본부태양광", "부산 사하구 감천동", 35.09, 128.98, 500),
    _n("H997", 1, "하동화력태양광", "경남 하동군 금성면", 34.94, 127.82, 1000),
    _n("H997", 2, "하동화력태양광", "경남 하동군 금성면", 34.94, 127.82, 1000),
    _n("H997", 3, "하동화력태양광", "경남 하동군 금성면", 34.94, 127.82, 1000),
    _n("S997", 1, "신인천태양광", "인천 서구 원창동", 37.52, 126.63, 1000),
    _n("S997", 2, "신인천태양광", "인천 서구 원창동", 37.52, 126.63, 1000),
    _n("S997", 3, "신인천태양광", "인천 서구 원창동", 37.52, 126.63, 1000),
)
NAMBU_BY_KEY = {(u.gencd, u.hogi): u for u in NAMBU_UNITS}


def _k(
    plant: str, unit: int, address: str, lat: float | None, lon: float | None, kw: float
) -> NamdongUnit:
    return NamdongUnit(plant, unit, address, lat, lon, kw)


NAMDONG_UNITS: tuple[NamdongUnit, ...] = (
    _k("영흥태양광 #1", 1, "인천 옹진군 영흥면", 37.24, 126.43, 1000),
    _k("영흥태양광 #2", 1, "인천 옹진군 영흥면", 37.24, 126.44, 1000),
    _k("영흥태양광 #3", 1, "인천 옹진군 영흥면", 37.23, 126.43, 800),
    _k("영흥태양광 #3", 2, "인천 옹진군 영흥면", 37.23, 126.43, 800),
    _k("영흥태양광 #3", 3, "인천 옹진군 영흥면", 37.23, 126.43, 800),
    _k("영동태양광", 1, "강원 강릉시 강동면", 37.72, 128.96, 500),
    _k("삼천포태양광 #5", 1, "경남 고성군 하이면", 34.99, 128.07, 700),
    _k("삼천포태양광 #5", 2, "경남 고성군 하이면", 34.99, 128.07, 700),
    _k("삼천포태양광 #6", 1, "경남 고성군 하이면", 34.98, 128.07, 700),
    _k("삼천포태양광 #4", 1, "경남 고성군 하이면", 34.98, 128.06, 500),
    _k("여수태양광", 1, "전남 여수시 낙포동", 34.84, 127.68, 600),
    _k("탑선태양광", 1, "전남 신안군 증도면", 35.00, 126.15, 900),
    _k("탑선태양광", 2, "전남 신안군 증도면", 35.00, 126.15, 900),
    _k("탑선태양광", 3, "전남 신안군 증도면", 35.00, 126.15, 900),
    _k("분당태양광", 1, "경기 성남시 분당구 분당동", 37.37, 127.14, 300),
    _k("예천태양광", 1, "경북 예천군 호명면", 36.65, 128.50, 1000),
    _k("고흥만수상태양광", 1, "전남 고흥군 두원면", 34.65, 127.27, 2000),
    _k("군위태양광", 1, "대구 군위군 우보면", 36.18, 128.67, 800),
    # Corrected: the original's substring match put both at Busan City Hall (35.18, 129.08).
    _k("부산신항태양광", 1, "부산 강서구 성북동", 35.08, 128.83, 1000),
    _k("부산역태양광", 1, "부산 동구 초량동", 35.115, 129.04, 200),
    # Corrected: the original fell back to the national default, 161 km off.
    _k("이천D태양광", 1, "경기 이천시 부발읍", 37.26, 127.49, 300),
    # Unresolved in the coordinate audit: left NULL for the geocoder.
    _k("율치태양광", 1, "", None, None, 300),
    _k("진주태양광", 1, "경남 진주시 상대동", 35.17, 128.10, 400),
)
CORRECTED_COORDINATES = {"부산신항태양광", "부산역태양광", "이천D태양광"}

# Plants whose source data is known to be defective, and how (graded in an audit of the KOSPO
# and KOEN data): the quality check expects their flags; a flag on any other plant is news.
KNOWN_SOURCE_DEFECTS = {
    "여수태양광": "whole day in one slot (hourly invalid; daily usable)",
    "탑선태양광_1": "one slot and a monthly constant daily value (fully invalid)",
    "탑선태양광_3": "one slot and a monthly constant daily value (fully invalid)",
    "신인천전망대태양광": "ESS-linked metering: noon suppressed, evening at rated level",
    "영동태양광": "ESS-linked metering: noon suppressed, evening at rated level",
    "영흥태양광 #3_1": "ESS-linked metering until 2025-06-30",
    "영흥태양광 #3_2": "ESS-linked metering until 2025-06-30",
    "영흥태양광 #3_3": "ESS-linked metering until 2025-06-30",
    "삼천포태양광 #5_1": "ESS-linked metering: evening at rated level",
    "삼천포태양광 #5_2": "ESS-linked metering: evening at rated level",
    "삼천포태양광 #6": "ESS-linked metering; zeros only from 2025-10-01",
    "삼천포태양광 #4": "ESS-linked metering: evening at rated level",
}
