"""``<id:...>`` in URLs: a primary key the database can hold.

Django's ``<int:...>`` matches any number of digits, and SQLite raises OverflowError (a 500) on
one past 2**63 - 1 before the query even runs. An id out of range cannot exist, so it is a 404.
"""

from django.urls import register_converter

BIGINT_MAX = 2**63 - 1  # BigAutoField, on every database we run on


class DatabaseIdConverter:
    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 0 < number <= BIGINT_MAX:
            raise ValueError(value)  # the URL does not match: 404
        return number

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(DatabaseIdConverter, "id")
