"""The few dbt cross-database macros our models call, as sqlfluff's jinja templater renders them.

Lint-only (``.sqlfluff`` ``library_path``): sqlfluff's dbt templater does not load with
dbt-core 1.11, so the jinja templater renders ``dbt.<macro>()`` through these DuckDB spellings.
"""


def type_string() -> str:
    return "varchar"


def type_timestamp() -> str:
    return "timestamp"


def listagg(measure: str, delimiter_text: str = "','", order_by_clause: str | None = None) -> str:
    order = f" {order_by_clause}" if order_by_clause else ""
    return f"string_agg({measure}, {delimiter_text}{order})"


def datediff(first_date: str, second_date: str, datepart: str) -> str:
    return f"date_diff('{datepart}', {first_date}, {second_date})"


def dateadd(datepart: str, interval: int, from_date_or_timestamp: str) -> str:
    return f"{from_date_or_timestamp} + interval ({interval}) {datepart}"
