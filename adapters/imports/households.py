"""Reading a ward's household list from CSV or XLSX into rows, with headers in Vietnamese or English."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from domain.errors import DomainError, ErrorCode
from domain.services.organisation import MAX_IMPORT_ROWS, ImportRow
from domain.text import clean, fold

# Folded header text → ImportRow field. Officers' spreadsheets use many spellings.
HEADERS = {
    "ho ten": "full_name",
    "ho va ten": "full_name",
    "ten chu ho": "full_name",
    "chu ho": "full_name",
    "full name": "full_name",
    "full_name": "full_name",
    "name": "full_name",
    "so dien thoai": "phone",
    "dien thoai": "phone",
    "sdt": "phone",
    "phone": "phone",
    "dia chi": "address",
    "address": "address",
    "so nhan khau": "household_size",
    "nhan khau": "household_size",
    "household size": "household_size",
    "household_size": "household_size",
    "nhom": "group",
    "ma nhom": "group",
    "group": "group",
}
REQUIRED = ("full_name", "phone")


def _bad_file(vi: str, en: str) -> DomainError:
    return DomainError.one(ErrorCode.INVALID_FILE, vi, en, ("file",))


def read_household_file(data: bytes, filename: str | None = None) -> list[ImportRow]:
    """Rows of the first sheet (XLSX) or of the CSV; refuses files we cannot read as a whole."""
    if data[:4] == b"PK\x03\x04" or (filename or "").lower().endswith((".xlsx", ".xlsm")):
        records = _xlsx_records(data)
    else:
        records = _csv_records(data)
    return _rows(records)


def _csv_records(data: bytes) -> Iterator[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel on Vietnamese Windows saves CSV as Windows-1258.
        try:
            text = data.decode("cp1258")
        except UnicodeDecodeError:
            raise _bad_file(
                "Không đọc được tệp CSV: hãy lưu với mã hoá UTF-8.",
                "The CSV file could not be read: save it as UTF-8.",
            ) from None
    if "\x00" in text:
        raise _bad_file("Tệp không phải CSV hay XLSX.", "The file is neither CSV nor XLSX.")
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        yield from csv.reader(io.StringIO(text), dialect)
    except csv.Error as error:
        raise _bad_file(
            f"Tệp CSV bị lỗi: {error}.", f"The CSV file is malformed: {error}."
        ) from None


def _xlsx_records(data: bytes) -> Iterator[list[str]]:
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise _bad_file(
            "Tệp XLSX bị hỏng hoặc không đúng định dạng.", "The XLSX file is damaged or not XLSX."
        ) from None
    try:
        sheet = workbook.worksheets[0]
        for values in sheet.iter_rows(values_only=True):
            yield ["" if v is None else _cell(v) for v in values]
    finally:
        workbook.close()


def _cell(value: object) -> str:
    # Phone numbers typed into Excel become numbers and lose their leading zero.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and 8 <= len(str(value)) <= 10:
        return "0" + str(value) if not str(value).startswith("84") else str(value)
    return str(value)


def _rows(records: Iterator[list[str]]) -> list[ImportRow]:
    header: dict[str, int] | None = None
    rows: list[ImportRow] = []
    for line, record in enumerate(records, start=1):
        cells = [clean(c) for c in record]
        if header is None:
            if not any(cells):
                continue
            header = {}
            for index, title in enumerate(cells):
                key = HEADERS.get(fold(title).replace("_", " ").strip()) or HEADERS.get(fold(title))
                if key and key not in header:
                    header[key] = index
            missing = [k for k in REQUIRED if k not in header]
            if missing:
                raise _bad_file(
                    "Thiếu cột bắt buộc: họ tên và số điện thoại.",
                    "Missing required columns: full name and phone.",
                )
            continue
        if not any(cells):
            continue
        if len(rows) >= MAX_IMPORT_ROWS:
            raise _bad_file(
                f"Tệp có quá {MAX_IMPORT_ROWS} dòng.",
                f"The file has more than {MAX_IMPORT_ROWS} rows.",
            )

        rows.append(
            ImportRow(
                line=line,
                full_name=_pick(cells, header, "full_name"),
                phone=_pick(cells, header, "phone"),
                address=_pick(cells, header, "address"),
                household_size=_pick(cells, header, "household_size"),
                group=_pick(cells, header, "group"),
            )
        )
    if header is None:
        raise _bad_file("Tệp trống.", "The file is empty.")
    return rows


def _pick(cells: list[str], header: dict[str, int], key: str) -> str | None:
    index = header.get(key)
    return cells[index] if index is not None and index < len(cells) else None
