"""What residents write for what the articles say, folded (lower case, no diacritics).

Each phrase on the left is expanded to the words on the right before indexing and before
matching, so "làm CCCD cho con" finds the article that says "thẻ căn cước". Longest phrases
are expanded first; an expansion adds words and never removes the resident's own.
Old names are mapped to the new ones because the law changed and residents did not: "hộ khẩu"
and "KT3" are gone since the Residence Law of 2020, "CCCD" became "thẻ căn cước" in 2024.
"""

from __future__ import annotations

SYNONYMS: dict[str, str] = {
    # identity cards
    "cccd": "can cuoc",
    "cmnd": "can cuoc chung minh",
    "cmt": "can cuoc chung minh",
    "chung minh thu": "can cuoc",
    "chung minh nhan dan": "can cuoc",
    "can cuoc cong dan": "can cuoc",
    "the can cuoc": "can cuoc",
    "lam can cuoc": "cap can cuoc",
    "gan chip": "can cuoc",
    "the chip": "can cuoc",
    "mat can cuoc": "cap lai can cuoc mat",
    "mat cccd": "cap lai can cuoc mat",
    "het han can cuoc": "cap doi can cuoc",
    "doi can cuoc": "cap doi can cuoc",
    "vneid": "dinh danh dien tu",
    "vn eid": "dinh danh dien tu",
    "dinh danh muc 2": "dinh danh dien tu muc 2",
    "tai khoan dinh danh": "dinh danh dien tu",
    # residence
    "ho khau": "thuong tru",
    "so ho khau": "thuong tru",
    "nhap khau": "dang ky thuong tru",
    "nhap ho khau": "dang ky thuong tru",
    "chuyen khau": "dang ky thuong tru",
    "cat khau": "xoa dang ky thuong tru",
    "xoa khau": "xoa dang ky thuong tru",
    "tach khau": "tach ho",
    "tach so ho khau": "tach ho",
    "kt3": "tam tru",
    "so tam tru": "tam tru",
    "o tro": "tam tru thue nha",
    "nha tro": "tam tru luu tru",
    "thue tro": "tam tru thue nha",
    "ct07": "xac nhan cu tru",
    "giay xac nhan cu tru": "xac nhan cu tru",
    "homestay": "luu tru",
    "nha nghi": "luu tru",
    "khach san": "luu tru",
    "nguoi nuoc ngoai": "nguoi nuoc ngoai nnn",
    "tay ba lo": "nguoi nuoc ngoai",
    "khach tay": "nguoi nuoc ngoai",
    # vehicles and traffic
    "gplx": "giay phep lai xe",
    "bang lai": "giay phep lai xe",
    "bang lai xe": "giay phep lai xe",
    "giay phep lai": "giay phep lai xe",
    "bien so": "dang ky xe bien so",
    "bien xe": "dang ky xe bien so",
    "ca vet": "dang ky xe",
    "cavet": "dang ky xe",
    "cavet xe": "dang ky xe",
    "xe may": "xe",
    "o to": "xe",
    "oto": "xe",
    "sang ten": "sang ten xe",
    "mua xe cu": "sang ten xe",
    "ban xe": "sang ten xe thu hoi",
    "phat nguoi": "nop phat vi pham giao thong",
    "bi phat": "nop phat vi pham",
    "vuot den do": "vi pham giao thong",
    "bien ban": "vi pham nop phat",
    # passports
    "passport": "ho chieu",
    "ho chieu": "ho chieu xuat canh",
    "di nuoc ngoai": "ho chieu xuat canh",
    "xuat canh": "ho chieu xuat canh",
    # fire safety
    "pccc": "phong chay chua chay",
    "chua chay": "phong chay chua chay",
    "binh chua chay": "phong chay chua chay",
    "nghiem thu pccc": "phong chay chua chay nghiem thu",
    "tham duyet": "tham dinh thiet ke",
    # crime reports
    "bao cong an": "to giac tin bao toi pham",
    "to cao": "to giac",
    "trom": "toi pham",
    "lua dao": "toi pham to giac",
}
