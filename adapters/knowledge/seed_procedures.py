"""The 23 procedures a ward police answers most, as the first articles of the knowledge base.

Facts come from the shared research notes (procedures-kb.md, latest source March 2026): the
Residence Law 68/2020, the Identity Law 26/2023, Circular 79/2024 on vehicle registration and
the decrees that changed them after the district police was abolished on 1 March 2025. What the
notes could not confirm is listed under `unconfirmed`, so an answer can flag it and send the
resident to the ward police to check. Officers edit these articles afterwards; the seed only
gives them a start.
"""

from __future__ import annotations

from domain.inquiry import Department
from domain.procedure import FilingMethod, ProcedureContent
from domain.procedure import RequiredDocument as Doc

_IN = FilingMethod.IN_PERSON
_GOV = FilingMethod.NATIONAL_PORTAL
_BCA = FilingMethod.POLICE_PORTAL
_APP = FilingMethod.VNEID
_POST = FilingMethod.POST

_ONLINE = (_IN, _GOV, _BCA, _APP)

_CT01 = "Tờ khai thay đổi thông tin cư trú"
_LAW_RESIDENCE = "Luật Cư trú số 68/2020/QH14"
_LAW_ID = "Luật Căn cước số 26/2023/QH15"
_FINE = "NĐ 282/2025/NĐ-CP về xử phạt vi phạm hành chính về an ninh, trật tự (từ 15/12/2025)"

SEED: tuple[tuple[str, ProcedureContent], ...] = (
    (
        "dang_ky_thuong_tru",
        ProcedureContent(
            name="Đăng ký thường trú",
            authority="Công an cấp xã nơi có chỗ ở hợp pháp",
            who_may_file=(
                "Người có chỗ ở hợp pháp: nhà của mình; nhà của người thân khi chủ hộ, chủ sở "
                "hữu đồng ý; nhà thuê, mượn, ở nhờ. Trẻ mới sinh do cha, mẹ hoặc chủ hộ đăng ký "
                "cư trú, chậm nhất 60 ngày kể từ ngày đăng ký khai sinh."
            ),
            documents=(
                Doc(f"{_CT01}, có ý kiến đồng ý của chủ hộ hoặc chủ sở hữu chỗ ở", "CT01"),
                Doc(
                    "Giấy tờ chứng minh chỗ ở hợp pháp (chỉ nộp khi Công an không tra được "
                    "trong cơ sở dữ liệu)"
                ),
                Doc(
                    "Nhà thuê: hợp đồng thuê có công chứng hoặc chứng thực; diện tích bình quân "
                    "theo mức HĐND tỉnh quy định, không dưới 8 m² sàn mỗi người"
                ),
                Doc("Giấy tờ chứng minh quan hệ nhân thân, khi nhập vào nhà người thân"),
            ),
            filing_methods=_ONLINE,
            filing_notes=(
                "Nộp tại Công an cấp xã nơi có chỗ ở, hoặc trực tuyến trên dichvucong.gov.vn, "
                "dichvucong.bocongan.gov.vn hay ứng dụng VNeID."
            ),
            time_limit="07 ngày làm việc kể từ khi nhận đủ hồ sơ",
            fee="20.000 đồng nộp trực tiếp; 10.000 đồng nộp trực tuyến",
            legal_basis=(
                f"{_LAW_RESIDENCE} (Điều 22); NĐ 154/2024/NĐ-CP (Điều 7), sửa đổi bởi NĐ "
                "58/2026/NĐ-CP (từ 15/3/2026); TT 55/2021/TT-BCA và TT 56/2021/TT-BCA, sửa đổi "
                "bởi TT 66/2023/TT-BCA; lệ phí theo TT 75/2022/TT-BTC; xử phạt theo "
                f"{_FINE}: cảnh cáo hoặc 500.000–1.000.000 đồng."
            ),
            department=Department.WARD,
            summary=(
                "Nộp tờ khai CT01 có ý kiến chủ hộ tại Công an xã/phường nơi có chỗ ở hoặc qua "
                "VNeID; giải quyết trong 07 ngày làm việc, lệ phí 20.000 đồng (trực tuyến "
                "10.000 đồng)."
            ),
            keywords=(
                "nhập khẩu",
                "nhập hộ khẩu",
                "hộ khẩu",
                "chuyển khẩu",
                "đăng ký khai sinh xong nhập khẩu cho con",
                "nhập khẩu về nhà chồng",
                "thường trú nhà thuê",
                "nhap khau",
                "ho khau",
                "chuyen ho khau",
                "CT01",
            ),
            sources=(
                "https://trungtamphaply.vn/2320/",
                "https://giadinh.suckhoedoisong.vn/dap-ung-dieu-kien-bat-buoc-nay-nguoi-thue-nha-o-tro-moi-duoc-dang-ky-thuong-tru-tai-ha-noi-172251120164708623.htm",
                "https://pbgdpl.quangninh.gov.vn/thong-tu-so-75-2022-tt-btc-quy-dinh-muc-thu-che-do-thu-nop-va-quan-ly-le-phi-dang-ky-cu-tru/",
            ),
        ),
    ),
    (
        "dang_ky_tam_tru",
        ProcedureContent(
            name="Đăng ký tạm trú, gia hạn tạm trú",
            authority="Công an cấp xã nơi dự kiến tạm trú",
            who_may_file=(
                "Người đến sống ở xã, phường khác nơi thường trú từ 30 ngày trở lên. Người thuê "
                "nhà có nghĩa vụ đăng ký, chủ nhà tạo điều kiện. Ký túc xá, nhà ở tập thể có thể "
                "đăng ký theo danh sách."
            ),
            documents=(
                Doc(f"{_CT01}; người chưa thành niên ghi ý kiến đồng ý của cha, mẹ", "CT01"),
                Doc(
                    "Giấy tờ chứng minh chỗ ở hợp pháp: hợp đồng thuê, văn bản cho ở nhờ, cho mượn"
                ),
            ),
            filing_methods=_ONLINE,
            filing_notes=(
                "Nộp tại Công an cấp xã, trên cổng dịch vụ công hoặc VNeID (Thủ tục hành chính → "
                "Đăng ký tạm trú). Trên VNeID, chủ hộ hoặc chủ nhà xác nhận bằng tài khoản định "
                "danh mức 2; chủ nhà không có tài khoản thì ký vào tờ khai CT01 bản giấy rồi đính "
                "kèm. Gia hạn trong 15 ngày trước khi hết hạn, được gia hạn nhiều lần."
            ),
            time_limit=(
                "03 ngày làm việc; mỗi lần tạm trú tối đa 02 năm, gia hạn trong 15 ngày trước "
                "khi hết hạn"
            ),
            fee=(
                "15.000 đồng trực tiếp, 7.000 đồng trực tuyến; đăng ký theo danh sách 10.000 "
                "đồng/người (trực tuyến 5.000 đồng)"
            ),
            legal_basis=(
                f"{_LAW_RESIDENCE} (Điều 27, 28); TT 55/2021/TT-BCA (Điều 13); lệ phí theo TT "
                f"75/2022/TT-BTC; xử phạt theo {_FINE}: 500.000–1.000.000 đồng, kể cả khi không "
                "xuất trình được thông tin cư trú (giấy hoặc VNeID) lúc kiểm tra."
            ),
            department=Department.WARD,
            summary=(
                "Ở nơi khác từ 30 ngày trở lên phải đăng ký tạm trú tại Công an xã/phường nơi ở "
                "hoặc qua VNeID; có kết quả trong 03 ngày làm việc, lệ phí 15.000 đồng (trực "
                "tuyến 7.000 đồng). Tạm trú tối đa 2 năm một lần và được gia hạn."
            ),
            keywords=(
                "tạm trú",
                "KT3",
                "sổ tạm trú",
                "ở trọ",
                "thuê trọ",
                "đăng ký tạm trú cho người thuê",
                "gia hạn tạm trú",
                "tam tru",
                "dang ky tam tru",
                "lam tam tru online",
                "sinh viên thuê nhà",
            ),
            sources=(
                "https://thuvienphapluat.vn/hoi-dap-phap-luat/52FE9-hd-ho-so-thu-tuc-dang-ky-tam-tru-gia-han-tam-tru-theo-luat-moi.html",
                "https://dichvucong.laocai.gov.vn/dich-vu-cong/tra-cuu/chi-tiet-thu-tuc?ma-thu-tuc=36322",
                "https://www.24h.com.vn/cong-nghe-thong-tin/chi-tiet-cach-dang-ky-tam-tru-va-nhan-ket-qua-qua-vneid-c55a1720782.html",
            ),
        ),
    ),
    (
        "khai_bao_tam_vang",
        ProcedureContent(
            name="Khai báo tạm vắng",
            authority="Công an cấp xã nơi cư trú",
            who_may_file=(
                "Bắt buộc với: bị can, bị cáo đang tại ngoại, người hưởng án treo, cải tạo không "
                "giam giữ, người đang chấp hành biện pháp xử lý hành chính… khi đi khỏi xã từ 01 "
                "ngày; người trong độ tuổi nghĩa vụ quân sự đi khỏi cấp huyện (cũ) nơi cư trú từ "
                "03 tháng liên tục; người khác đi khỏi xã nơi thường trú từ 12 tháng liên tục, trừ khi đã đăng "
                "ký tạm trú ở nơi mới hoặc đã xuất cảnh."
            ),
            documents=(
                Doc(
                    "Thông tin khai báo: họ tên, số định danh cá nhân, lý do vắng mặt, thời gian "
                    "vắng mặt và nơi đến"
                ),
            ),
            filing_methods=(_IN, _POST, _GOV, _BCA, _APP),
            filing_notes=(
                "Khai trực tiếp tại Công an cấp xã, qua số điện thoại hoặc email Công an xã công "
                "bố, trên cổng dịch vụ công hoặc VNeID. Kết quả là Phiếu khai báo tạm vắng (mẫu "
                "CT03) hoặc thông báo kết quả (mẫu CT08)."
            ),
            time_limit="01 ngày; trường hợp phức tạp tối đa 02 ngày làm việc",
            fee="Không thu lệ phí (chưa xác nhận)",
            legal_basis=(
                f"{_LAW_RESIDENCE} (Điều 31); TT 55/2021/TT-BCA (Điều 16); mẫu CT03, CT08 theo "
                "TT 56/2021/TT-BCA."
            ),
            department=Department.WARD,
            summary=(
                "Khai báo tạm vắng với Công an xã/phường nơi cư trú, trực tiếp, qua điện thoại, "
                "email hoặc VNeID; có kết quả trong 01 ngày (phức tạp tối đa 02 ngày làm việc)."
            ),
            keywords=(
                "tạm vắng",
                "khai báo đi vắng",
                "đi làm ăn xa",
                "đi xuất khẩu lao động",
                "án treo đi khỏi địa phương",
                "tại ngoại đi tỉnh khác",
                "tam vang",
                "khai bao tam vang",
                "CT03",
            ),
            unconfirmed=(
                "Cách tính mốc đi khỏi nơi cư trú từ 03 tháng đối với người trong độ tuổi nghĩa "
                "vụ quân sự sau khi bỏ cấp huyện chưa được xác nhận.",
                "Việc khai báo tạm vắng không thu lệ phí chưa được xác nhận.",
            ),
            sources=(
                "https://vietluatlaw.com/thu-tuc-khai-bao-tam-vang/",
                "https://dantri.com.vn/ban-doc/di-du-hoc-co-phai-khai-bao-tam-vang-20230701074847559.htm",
            ),
        ),
    ),
    (
        "thong_bao_luu_tru",
        ProcedureContent(
            name="Thông báo lưu trú (hộ gia đình, nhà trọ, nhà nghỉ, homestay)",
            authority="Công an cấp xã nơi có người đến lưu trú",
            who_may_file=(
                "Lưu trú là ở lại nơi khác dưới 30 ngày. Người thông báo: thành viên hộ gia "
                "đình; người đại diện khách sạn, nhà nghỉ, homestay, nhà trọ, ký túc xá, cơ sở "
                "khám chữa bệnh. Chủ nhà đi vắng thì người đến ở tự thông báo."
            ),
            documents=(
                Doc(
                    "Thông tin người lưu trú: họ tên, số định danh cá nhân hoặc số hộ chiếu, lý "
                    "do, thời gian lưu trú, địa chỉ"
                ),
            ),
            filing_methods=(_IN, _POST, _GOV, _BCA, _APP),
            filing_notes=(
                "Thông báo trực tiếp, qua điện thoại, email, cổng dịch vụ công hoặc VNeID (Thủ "
                "tục hành chính → Thông báo lưu trú → Cơ sở lưu trú → chọn loại hình: lưu trú du "
                "lịch, ký túc xá, hộ gia đình, nhà ngăn phòng cho thuê…). Không cấp giấy kết "
                "quả. Ông bà, cha mẹ, vợ chồng, con cháu, anh chị em ruột đến ở nhiều lần chỉ "
                "cần thông báo một lần."
            ),
            time_limit=(
                "Trước 23 giờ ngày bắt đầu lưu trú; khách đến sau 23 giờ thì trước 08 giờ sáng "
                "hôm sau"
            ),
            fee="Không thu lệ phí",
            legal_basis=(
                f"{_LAW_RESIDENCE} (Điều 30); TT 55/2021/TT-BCA (Điều 15); xử phạt theo {_FINE}: "
                "hộ gia đình 500.000–1.000.000 đồng; cơ sở kinh doanh lưu trú không thông báo "
                "cho 1–3 người 2–4 triệu đồng, 4–8 người 4–8 triệu đồng, từ 9 người 8–12 triệu "
                "đồng."
            ),
            department=Department.WARD,
            summary=(
                "Có người đến ở dưới 30 ngày thì báo Công an xã/phường trước 23 giờ (đến sau 23 "
                "giờ thì trước 8 giờ sáng hôm sau), qua VNeID, điện thoại hoặc trực tiếp; không "
                "mất phí."
            ),
            keywords=(
                "lưu trú",
                "báo khách",
                "khai báo khách nghỉ",
                "người nhà lên chơi",
                "nhà nghỉ",
                "homestay",
                "chủ trọ khai báo",
                "luu tru",
                "khai bao luu tru",
                "bao luu tru tren vneid",
            ),
            unconfirmed=("Việc khai báo lưu trú qua phần mềm ASM chưa được xác nhận.",),
            sources=(
                "https://cafef.vn/khong-can-den-truc-tiep-co-quan-quan-ly-nguoi-dan-chi-mat-5-phut-dang-ky-luu-tru-ngay-tai-nha-188230414031852262.chn",
                "https://plo.vn/huong-dan-chu-tro-thong-bao-luu-tru-tren-vneid-de-khong-bi-phat-post887514.html",
            ),
        ),
    ),
    (
        "xac_nhan_cu_tru",
        ProcedureContent(
            name="Xác nhận thông tin về cư trú (mẫu CT07)",
            authority="Bất kỳ Công an cấp xã nào trong cả nước",
            who_may_file="Công dân cần giấy xác nhận thông tin cư trú của mình.",
            documents=(Doc(f"{_CT01} (khi nộp trực tiếp)", "CT01"),),
            filing_methods=_ONLINE,
            filing_notes=(
                "Nộp trực tiếp bằng tờ khai CT01 tại bất kỳ Công an xã, phường nào; hoặc kê khai "
                "trực tuyến trên cổng dịch vụ công, VNeID. Kết quả là giấy xác nhận mẫu CT07 ghi "
                "nơi cư trú hiện tại, nơi cư trú trước đây, thời gian và hình thức đăng ký. Giấy "
                "có giá trị 01 năm (trước năm 2024 là 30 ngày) và hết giá trị khi thông tin cư "
                "trú thay đổi."
            ),
            time_limit=(
                "Nửa ngày đến 01 ngày làm việc nếu thông tin có sẵn; 03 ngày làm việc nếu phải "
                "xác minh"
            ),
            fee="Miễn phí (0 đồng)",
            legal_basis=f"{_LAW_RESIDENCE}; mẫu CT07 theo TT 66/2023/TT-BCA.",
            department=Department.WARD,
            summary=(
                "Xin giấy xác nhận cư trú CT07 ở bất kỳ Công an xã/phường nào hoặc trên VNeID, "
                "miễn phí; thường có trong 01 ngày làm việc, giấy dùng được 01 năm."
            ),
            keywords=(
                "CT07",
                "giấy xác nhận cư trú",
                "xác nhận hộ khẩu",
                "thay sổ hộ khẩu",
                "giấy xác nhận nơi ở",
                "xin giấy cư trú cho con đi học",
                "ct07",
                "xac nhan cu tru",
                "giay xac nhan noi cu tru",
            ),
            sources=(
                "https://dichvucong.gov.vn/p/home/dvc-tthc-thu-tuc-hanh-chinh-chi-tiet.html?ma_thu_tuc=273057&open_popup=1",
                "https://luatminhkhue.vn/thoi-gian-cap-giay-xac-nhan-thong-tin-cu-tru-la-bao-nhieu-ngay.aspx",
                "https://hoatieu.vn/bieu-mau/mau-xac-nhan-thong-tin-cu-tru-210466",
            ),
        ),
    ),
    (
        "tach_ho",
        ProcedureContent(
            name="Tách hộ",
            authority="Công an cấp xã nơi thường trú",
            who_may_file=(
                "Thành viên hộ có năng lực hành vi dân sự đầy đủ, được chủ hộ và chủ sở hữu chỗ "
                "ở đồng ý; vợ hoặc chồng đã ly hôn mà vẫn được dùng chỗ ở đó thì không cần sự "
                "đồng ý này."
            ),
            documents=(
                Doc(f"{_CT01}, có ý kiến đồng ý của chủ hộ, chủ sở hữu chỗ ở", "CT01"),
                Doc(
                    "Sau ly hôn: giấy tờ chứng minh đã ly hôn và được tiếp tục sử dụng chỗ ở "
                    "hợp pháp đó"
                ),
            ),
            filing_methods=(_IN, _GOV, _BCA),
            filing_notes=(
                "Nộp tại Công an cấp xã nơi thường trú; có thể nộp trực tuyến (nguồn nêu mức lệ "
                "phí trực tuyến)."
            ),
            time_limit="05 ngày làm việc",
            fee="10.000 đồng trực tiếp; 5.000 đồng trực tuyến",
            legal_basis=f"{_LAW_RESIDENCE} (Điều 25); lệ phí theo TT 75/2022/TT-BTC.",
            department=Department.WARD,
            summary=(
                "Tách hộ cần tờ khai CT01 có chủ hộ đồng ý (người đã ly hôn được miễn), nộp tại "
                "Công an xã/phường nơi thường trú; giải quyết trong 05 ngày làm việc, lệ phí "
                "10.000 đồng (trực tuyến 5.000 đồng)."
            ),
            keywords=(
                "tách khẩu",
                "tách hộ khẩu",
                "tách sổ hộ khẩu",
                "ra hộ riêng",
                "tách hộ sau ly hôn",
                "làm chủ hộ mới",
                "tach khau",
                "tach ho",
                "tach ho khau",
            ),
            sources=(
                "https://thuvienphapluat.vn/hoi-dap-phap-luat/52FE4-hd-thu-tuc-tach-ho-duoc-thuc-hien-the-nao.html",
            ),
        ),
    ),
    (
        "xoa_dang_ky_thuong_tru",
        ProcedureContent(
            name="Xóa đăng ký thường trú (kèm xóa đăng ký tạm trú)",
            authority="Công an cấp xã nơi thường trú",
            who_may_file=(
                "Người thuộc diện bị xóa hoặc đại diện hộ gia đình, nộp trong 07 ngày kể từ khi "
                "có căn cứ xóa. Các trường hợp: chết, bị tuyên bố mất tích; định cư ở nước "
                "ngoài; vắng mặt liên tục 12 tháng không rõ lý do; đã đăng ký thường trú nơi "
                "khác; không còn chỗ ở hợp pháp…"
            ),
            documents=(
                Doc(_CT01, "CT01"),
                Doc(
                    "Giấy tờ chứng minh thuộc trường hợp bị xóa (ví dụ giấy báo tử, giấy tờ về "
                    "định cư ở nước ngoài)"
                ),
            ),
            filing_methods=(_IN,),
            filing_notes=(
                "Nộp tại Công an cấp xã. Từ 15/3/2026, trường hợp đã có quyết định hủy hoặc dữ "
                "liệu đồng bộ (chết, thôi quốc tịch…) thì cơ quan đăng ký cư trú tự xóa trong 01 "
                "ngày."
            ),
            time_limit="05 ngày làm việc; cơ quan tự xóa trong 01 ngày khi dữ liệu đã đồng bộ",
            fee="Không thu lệ phí",
            legal_basis=(
                f"{_LAW_RESIDENCE} (Điều 24); NĐ 154/2024/NĐ-CP (ngày 26/11/2024), sửa đổi bởi "
                "NĐ 58/2026/NĐ-CP."
            ),
            department=Department.WARD,
            summary=(
                "Người nhà mất, định cư nước ngoài hay đã nhập khẩu nơi khác thì nộp tờ khai CT01 "
                "kèm giấy tờ chứng minh tại Công an xã/phường trong 07 ngày; giải quyết trong 05 "
                "ngày làm việc, không mất phí."
            ),
            keywords=(
                "xóa hộ khẩu",
                "cắt khẩu",
                "xóa tên khỏi hộ khẩu",
                "người nhà mất xóa khẩu",
                "cắt hộ khẩu người đi nước ngoài",
                "xoa thuong tru",
                "cat khau",
                "xoa ho khau",
            ),
            sources=(
                "https://congan.phutho.gov.vn/article/thu-tuc-hanh-chinh/Xoa-dang-ky-thuong-tru-260-39",
                "https://cafef.vn/tu-thang-sau-loat-quy-dinh-moi-ve-dang-ky-thuong-tru-tam-tru-chinh-thuc-co-hieu-luc-nguoi-dan-chu-y-188260226090020347.chn",
            ),
        ),
    ),
    (
        "dieu_chinh_thong_tin_cu_tru",
        ProcedureContent(
            name="Điều chỉnh thông tin về cư trú",
            authority="Công an cấp xã nơi cư trú",
            who_may_file=(
                "Thành viên hộ khi: thay đổi chủ hộ; thông tin hộ tịch thay đổi (họ tên, ngày "
                "sinh…). Khi đổi địa chỉ do điều chỉnh địa giới, đổi tên đường, số nhà, cơ quan "
                "đăng ký cư trú tự cập nhật."
            ),
            documents=(
                Doc(_CT01, "CT01"),
                Doc("Giấy tờ chứng minh việc thay đổi, ví dụ trích lục cải chính hộ tịch"),
            ),
            filing_methods=(_IN,),
            filing_notes="Nộp tại Công an cấp xã nơi cư trú.",
            time_limit="03 ngày làm việc khi đổi chủ hộ; trường hợp khác chưa xác nhận",
            fee="Không thu lệ phí (chưa xác nhận)",
            legal_basis=f"{_LAW_RESIDENCE} (Điều 26).",
            department=Department.WARD,
            summary=(
                "Đổi chủ hộ hoặc sửa thông tin cư trú: nộp tờ khai CT01 kèm giấy tờ chứng minh "
                "tại Công an xã/phường; đổi chủ hộ giải quyết trong 03 ngày làm việc."
            ),
            keywords=(
                "đổi chủ hộ",
                "thay chủ hộ",
                "sửa thông tin hộ khẩu",
                "cải chính hộ tịch cập nhật cư trú",
                "đổi tên đường số nhà",
                "doi chu ho",
                "sua thong tin cu tru",
                "chuyen chu ho",
            ),
            unconfirmed=(
                "Thời hạn giải quyết các trường hợp điều chỉnh khác ngoài đổi chủ hộ chưa được "
                "xác nhận.",
                "Việc không thu lệ phí chưa được xác nhận.",
            ),
            sources=(
                "https://giadinh.suckhoedoisong.vn/dap-ung-day-du-cac-loai-giay-to-bat-buoc-nay-nguoi-dan-moi-duoc-dieu-chinh-thong-tin-ve-noi-cu-tru-172251203164558571.htm",
            ),
        ),
    ),
    (
        "khai_bao_tam_tru_nnn",
        ProcedureContent(
            name="Khai báo tạm trú cho người nước ngoài",
            authority=(
                "Công an cấp xã, đồn hoặc trạm công an nơi có cơ sở lưu trú; khách sạn khai qua "
                "trang khai báo của Phòng Quản lý xuất nhập cảnh Công an tỉnh"
            ),
            who_may_file=(
                "Người quản lý, chủ cơ sở lưu trú nơi người nước ngoài ở: khách sạn, nhà cho "
                "thuê, nhà riêng."
            ),
            documents=(
                Doc("Phiếu khai báo tạm trú cho người nước ngoài", "NA17"),
                Doc("Hộ chiếu của khách"),
            ),
            filing_methods=(_IN,),
            filing_notes=(
                "Khai bằng phiếu NA17 tại Công an cấp xã (tiếp nhận 24/7, xác nhận ngay) hoặc "
                "khai trực tuyến trên trang khai báo tạm trú của Phòng Quản lý xuất nhập cảnh "
                "Công an tỉnh."
            ),
            time_limit=(
                "Trong 12 giờ kể từ khi khách đến (vùng sâu, vùng xa 24 giờ); Công an xác nhận ngay"
            ),
            fee="Không thu lệ phí",
            legal_basis=(
                "Luật Nhập cảnh, xuất cảnh, quá cảnh, cư trú của người nước ngoài tại Việt Nam "
                "số 47/2014/QH13, sửa đổi năm 2019 và 2023 (Điều 33); mẫu NA17 theo TT "
                "04/2015/TT-BCA; khai báo trực tuyến theo TT 53/2016/TT-BCA."
            ),
            department=Department.XUAT_NHAP_CANH,
            summary=(
                "Có người nước ngoài ở lại thì chủ nhà hoặc cơ sở lưu trú phải khai báo tạm trú "
                "trong 12 giờ (vùng sâu, vùng xa 24 giờ) với Công an xã/phường hoặc trên trang "
                "khai báo của Công an tỉnh; không mất phí."
            ),
            keywords=(
                "người nước ngoài",
                "khách nước ngoài",
                "khách Tây",
                "cho người nước ngoài thuê nhà",
                "khai báo tạm trú cho khách nước ngoài",
                "NA17",
                "nguoi nuoc ngoai",
                "khai bao tam tru nguoi nuoc ngoai",
                "foreigner",
            ),
            sources=(
                "https://vnvisa.vn/mau-phieu-khai-bao-tam-tru-cho-nguoi-nuoc-ngoai/",
                "https://lenguyenlawfirm.com/thu-tuc-dang-ky-tam-tru-cho-nguoi-nuoc-ngoai/",
            ),
        ),
    ),
    (
        "cap_can_cuoc",
        ProcedureContent(
            name="Cấp thẻ căn cước (từ đủ 14 tuổi)",
            authority=(
                "Công an cấp xã (nhận việc của Công an cấp huyện từ 01/3/2025), Phòng Cảnh sát "
                "QLHC về TTXH (PC06) Công an tỉnh, Cục C06; có nơi cấp lưu động"
            ),
            who_may_file=(
                "Công dân Việt Nam từ đủ 14 tuổi (bắt buộc), phải có mặt để thu ảnh chân dung, "
                "vân tay và mống mắt."
            ),
            documents=(
                Doc("Không cần giấy tờ nếu dữ liệu đã có trong Cơ sở dữ liệu quốc gia về dân cư"),
                Doc("Phiếu bổ sung thông tin dân cư, khi dữ liệu còn thiếu", "DC01"),
                Doc("Phiếu điều chỉnh thông tin dân cư, khi dữ liệu bị sai", "DC02"),
                Doc("Tờ khai căn cước", "CC01"),
            ),
            filing_methods=_ONLINE,
            filing_notes=(
                "Đến Công an cấp xã hoặc nơi cấp căn cước; có thể đặt lịch trước trên cổng dịch "
                "vụ công hoặc VNeID rồi đến thu nhận sinh trắc học. Từ 15/3/2026, số CMND 9 số cũ "
                "được tích hợp trong mã QR, chip và VNeID; cơ quan không được đòi giấy xác nhận "
                "số CMND."
            ),
            time_limit="07 ngày làm việc",
            fee="Cấp lần đầu không thu lệ phí (chưa xác nhận)",
            legal_basis=(
                f"{_LAW_ID} (hiệu lực 01/7/2024, Điều 26); NĐ 70/2024/NĐ-CP, sửa đổi bởi NĐ "
                "58/2026/NĐ-CP; TT 16/2024/TT-BCA và TT 17/2024/TT-BCA (chưa xác nhận)."
            ),
            department=Department.WARD,
            summary=(
                "Từ đủ 14 tuổi đến Công an xã/phường để chụp ảnh, lấy vân tay, mống mắt; thường "
                "không cần giấy tờ nếu dữ liệu dân cư đã đúng. Có thẻ trong 07 ngày làm việc."
            ),
            keywords=(
                "làm căn cước",
                "CCCD",
                "làm CCCD lần đầu",
                "căn cước gắn chip",
                "chứng minh thư",
                "CMND",
                "con đủ 14 tuổi làm căn cước",
                "lam can cuoc",
                "lam cccd",
                "the can cuoc",
                "đặt lịch làm căn cước",
            ),
            unconfirmed=(
                "Mã mẫu DC01, DC02 và CC01 lấy theo nguồn thứ cấp, chưa đối chiếu văn bản gốc.",
                "Việc cấp thẻ căn cước lần đầu không thu lệ phí chưa được xác nhận.",
                "Việc TT 16/2024/TT-BCA và TT 17/2024/TT-BCA là căn cứ hướng dẫn chưa được xác "
                "nhận.",
            ),
            sources=(
                "https://luatvietnam.vn/tin-van-ban-moi/rut-ngan-thoi-gian-cap-the-can-cuoc-nhanh-tu-01-7-2024-186-96497-article.html",
                "https://plo.vn/khong-con-cong-an-cap-huyen-cap-can-cuoc-cong-dan-the-nao-post836663.html",
                "https://thanhnien.vn/quy-dinh-moi-ve-cap-lai-the-can-cuoc-ap-dung-tu-ngay-153-185260225152647494.htm",
                "https://kenh14.vn/tu-153-mot-thu-tuc-lien-quan-cmnd-chinh-thuc-bi-khai-tu-215260227163027408.chn",
            ),
        ),
    ),
    (
        "cap_can_cuoc_duoi_14",
        ProcedureContent(
            name="Cấp thẻ căn cước cho người dưới 14 tuổi",
            authority="Công an cấp xã, Phòng PC06 Công an tỉnh (như cấp căn cước từ đủ 14 tuổi)",
            who_may_file=(
                "Cha, mẹ hoặc người đại diện hợp pháp làm cho trẻ; không bắt buộc. Trẻ dưới 6 "
                "tuổi không phải thu sinh trắc học; trẻ từ 6 đến dưới 14 tuổi phải cùng người "
                "đại diện đến để chụp ảnh, lấy vân tay, mống mắt."
            ),
            documents=(
                Doc(
                    "Đề nghị của cha, mẹ hoặc người đại diện (trẻ dưới 6 tuổi kê khai trực "
                    "tuyến trên cổng dịch vụ công hoặc VNeID)"
                ),
            ),
            filing_methods=_ONLINE,
            filing_notes=(
                'Trẻ dưới 6 tuổi: làm trên cổng dịch vụ công hoặc VNeID, mục "Cấp thẻ căn cước '
                'cho người dưới 14 tuổi"; trẻ chưa đăng ký khai sinh thì làm liên thông khai '
                "sinh, thường trú và căn cước. Trẻ từ 6 đến dưới 14 tuổi: đến Công an cấp xã "
                "cùng cha mẹ. Thẻ của trẻ dưới 6 tuổi không có ảnh; khi đủ 14 tuổi phải đổi thẻ."
            ),
            time_limit="07 ngày làm việc",
            fee="Cấp lần đầu không thu lệ phí (chưa xác nhận)",
            legal_basis=f"{_LAW_ID}; NĐ 70/2024/NĐ-CP, sửa đổi bởi NĐ 58/2026/NĐ-CP.",
            department=Department.WARD,
            summary=(
                "Căn cước cho trẻ dưới 14 tuổi không bắt buộc: dưới 6 tuổi cha mẹ làm online trên "
                "VNeID, không cần đưa trẻ đi; từ 6 tuổi trẻ phải đến Công an xã/phường cùng cha "
                "mẹ. Có thẻ trong 07 ngày làm việc."
            ),
            keywords=(
                "làm căn cước cho con",
                "căn cước cho trẻ em",
                "căn cước cho bé",
                "CCCD cho con dưới 14 tuổi",
                "làm căn cước cho con trên VNeID",
                "trẻ dưới 6 tuổi",
                "lam can cuoc cho con",
                "can cuoc tre em",
                "lam cccd cho be",
            ),
            unconfirmed=(
                "Việc cấp thẻ lần đầu cho trẻ dưới 14 tuổi không thu lệ phí chưa được xác nhận.",
            ),
            sources=(
                "https://dantri.com.vn/ban-doc/trinh-tu-thu-tuc-cap-the-can-cuoc-cho-nguoi-duoi-14-tuoi-20240414075531099.htm",
                "https://vtcnews.vn/cach-lam-the-can-cuoc-tren-ung-dung-vneid-cho-nguoi-duoi-14-tuoi-ar966566.html",
            ),
        ),
    ),
    (
        "cap_doi_can_cuoc",
        ProcedureContent(
            name="Cấp đổi thẻ căn cước",
            authority="Công an cấp xã, Phòng PC06 Công an tỉnh, Cục C06",
            who_may_file=(
                "Công dân khi: đủ 14, 25, 40, 60 tuổi (thẻ cấp trong 2 năm trước mốc tuổi thì "
                "dùng đến mốc sau); thay đổi họ tên, ngày sinh, đặc điểm nhân dạng, giới tính; "
                "thẻ có sai sót; xác lập lại số định danh; địa giới hành chính thay đổi (không "
                "bắt buộc); hoặc theo yêu cầu. CCCD cũ còn hạn vẫn dùng được; CMND hết giá trị "
                "từ 01/01/2025."
            ),
            documents=(
                Doc("Tờ khai căn cước", "CC01"),
                Doc("Giấy tờ chứng minh thông tin thay đổi, nếu chưa có trong cơ sở dữ liệu"),
            ),
            filing_methods=_ONLINE,
            filing_notes=(
                "Như cấp căn cước: đến Công an cấp xã, có thể đặt lịch trên cổng dịch vụ công "
                "hoặc VNeID. Đổi thẻ do sắp xếp đơn vị hành chính thì làm trên VNeID mức 2, chọn "
                'lý do "do sắp xếp/điều chỉnh ĐVHC".'
            ),
            time_limit="07 ngày làm việc",
            fee=(
                "Miễn phí khi đổi do sắp xếp đơn vị hành chính; thông thường 50.000 đồng; giảm "
                "50% từ 01/7 đến 31/12/2025, từ 01/01/2026 trở lại mức gốc"
            ),
            legal_basis=(
                f"{_LAW_ID} (Điều 21, 24); lệ phí theo TT 73/2024/TT-BTC; mức giảm theo TT "
                "64/2025/TT-BTC."
            ),
            department=Department.WARD,
            summary=(
                "Đổi căn cước khi đủ 25, 40, 60 tuổi, đổi thông tin hoặc thẻ sai sót, tại Công an "
                "xã/phường hoặc trên VNeID; 07 ngày làm việc, lệ phí 50.000 đồng, miễn phí nếu "
                "đổi vì sáp nhập địa giới."
            ),
            keywords=(
                "đổi căn cước",
                "đổi CCCD",
                "đổi căn cước 25 tuổi",
                "CCCD hết hạn",
                "đổi căn cước theo địa chỉ mới",
                "sáp nhập tỉnh đổi căn cước",
                "đổi CMND sang căn cước",
                "doi can cuoc",
                "doi cccd",
                "cccd het han",
            ),
            unconfirmed=(
                "Mức lệ phí 50.000 đồng theo TT 73/2024/TT-BTC chưa được đối chiếu trực tiếp với "
                "văn bản.",
                "Một nguồn thứ cấp năm 2026 cho rằng mức giảm 50% kéo dài đến hết năm 2026; điều "
                "này chưa được xác nhận.",
            ),
            sources=(
                "https://dantri.com.vn/xa-hoi/mien-phi-cap-doi-the-can-cuoc-theo-don-vi-hanh-chinh-moi-tren-vneid-20250812210100263.htm",
                "https://giadinh.suckhoedoisong.vn/tu-1-1-2026-hang-trieu-nguoi-cap-doi-cap-lai-the-can-cuoc-khong-con-duoc-huong-quyen-loi-dac-biet-nay-172251224151327514.htm",
                "https://luatvietnam.vn/hanh-chinh/truong-hop-nao-khong-phai-doi-the-can-cuoc-khi-du-14-tuoi-570-98760-article.html",
            ),
        ),
    ),
    (
        "cap_lai_can_cuoc",
        ProcedureContent(
            name="Cấp lại thẻ căn cước (bị mất, hư hỏng)",
            authority="Công an cấp xã, Phòng PC06 Công an tỉnh, Cục C06",
            who_may_file="Công dân bị mất hoặc làm hư hỏng thẻ căn cước; người được trở lại quốc tịch Việt Nam.",
            documents=(Doc("Tờ khai căn cước", "CC01"),),
            filing_methods=_ONLINE,
            filing_notes=(
                "Làm trực tuyến trên cổng dịch vụ công hoặc VNeID, dùng sinh trắc học đã thu "
                "trước đó (chỉ áp dụng với thẻ căn cước mẫu mới còn hạn, không áp dụng CCCD "
                "cũ); hoặc đến Công an cấp xã."
            ),
            time_limit="07 ngày làm việc",
            fee="70.000 đồng (chưa xác nhận), được giảm theo cùng đợt như cấp đổi",
            legal_basis=f"{_LAW_ID}; lệ phí theo TT 73/2024/TT-BTC, giảm theo TT 64/2025/TT-BTC.",
            department=Department.WARD,
            summary=(
                "Mất hoặc hỏng căn cước thì làm lại tại Công an xã/phường, hoặc online trên "
                "VNeID nếu thẻ là mẫu mới còn hạn; có thẻ trong 07 ngày làm việc."
            ),
            keywords=(
                "mất căn cước",
                "mất CCCD",
                "làm lại căn cước",
                "căn cước bị gãy",
                "thẻ căn cước hỏng chip",
                "đánh rơi căn cước",
                "mat can cuoc",
                "mat cccd",
                "lam lai can cuoc",
            ),
            unconfirmed=(
                "Theo nguồn thứ cấp năm 2026, nộp trực tuyến toàn trình chỉ mất 05 ngày làm "
                "việc; chưa được xác nhận.",
                "Mức lệ phí 70.000 đồng chưa được đối chiếu trực tiếp với văn bản.",
            ),
            sources=(
                "https://plo.vn/mat-the-can-cuoc-co-the-duoc-cap-lai-truc-tuyen-post873504.html",
            ),
        ),
    ),
    (
        "tich_hop_thong_tin_can_cuoc",
        ProcedureContent(
            name=(
                "Tích hợp, cập nhật, điều chỉnh thông tin trên thẻ căn cước và Cơ sở dữ liệu "
                "quốc gia về dân cư"
            ),
            authority="Công an cấp xã trong cả nước, không phụ thuộc nơi cư trú (theo lộ trình)",
            who_may_file=(
                "Công dân muốn tích hợp thông tin (bảo hiểm y tế, giấy phép lái xe…) hoặc sửa "
                "thông tin sai trong dữ liệu dân cư, VNeID."
            ),
            documents=(
                Doc(
                    "Giấy tờ chứng minh thông tin cần tích hợp hoặc điều chỉnh, khi thông tin đó "
                    "chưa có trong cơ sở dữ liệu"
                ),
            ),
            filing_methods=_ONLINE,
            filing_notes=(
                "Đến Công an cấp xã bất kỳ, hoặc chọn thông tin cần tích hợp trên cổng dịch vụ "
                "công, VNeID rồi hẹn Công an xã."
            ),
            time_limit=(
                "07 ngày làm việc khi tích hợp trên thẻ; điều chỉnh dữ liệu dân cư theo đề nghị "
                "02 ngày làm việc (chưa xác nhận)"
            ),
            fee="Chưa xác nhận được",
            legal_basis=f"Quyết định 5710/QĐ-BCA-C06 (từ 01/7/2025); {_LAW_ID}.",
            department=Department.WARD,
            summary=(
                "Sai năm sinh, sai tên trong dữ liệu dân cư hay muốn tích hợp giấy tờ vào căn "
                "cước thì đến bất kỳ Công an xã/phường nào, mang giấy tờ chứng minh nếu dữ liệu "
                "chưa có."
            ),
            keywords=(
                "sửa thông tin dân cư",
                "dữ liệu dân cư sai",
                "sai năm sinh trên căn cước",
                "sai tên trên VNeID",
                "tích hợp bảo hiểm y tế vào căn cước",
                "cập nhật thông tin căn cước",
                "sua thong tin vneid",
                "sai ngay sinh",
                "tich hop thong tin",
            ),
            unconfirmed=(
                "Thời hạn 02 ngày làm việc để điều chỉnh dữ liệu dân cư theo đề nghị của công dân "
                "lấy từ nguồn thứ cấp, chưa được xác nhận.",
                "Lệ phí của thủ tục chưa được xác nhận.",
            ),
            sources=(
                "https://baolamdong.vn/thu-tuc-tich-hop-cap-nhat-dieu-chinh-thong-tin-tren-the-can-cuoc-tu-ngay-01-7-2025-381940.html",
            ),
        ),
    ),
    (
        "dinh_danh_dien_tu",
        ProcedureContent(
            name="Tài khoản định danh điện tử VNeID mức 1, mức 2",
            authority=(
                "Mức 1: tự đăng ký trên ứng dụng VNeID; mức 2: Công an cấp xã hoặc nơi làm căn "
                "cước (cấp kèm thẻ)"
            ),
            who_may_file=(
                "Từ đủ 14 tuổi có thẻ: mức 1 và mức 2. Từ 6 đến dưới 14 tuổi có thẻ căn cước: "
                "mức 1, mức 2 khi có nhu cầu. Dưới 6 tuổi: mức 1, do cha mẹ đăng ký bằng tài "
                "khoản mức 2 của mình. Người nước ngoài có thẻ thường trú, tạm trú."
            ),
            documents=(
                Doc(
                    "Mức 1: số định danh cá nhân, số điện thoại chính chủ, ảnh khuôn mặt qua ứng dụng"
                ),
                Doc("Mức 2: thẻ căn cước hoặc CCCD gắn chip, số điện thoại hoặc email"),
            ),
            filing_methods=(_IN, _APP),
            filing_notes=(
                "Mức 2 làm tại Công an cấp xã: xuất trình thẻ, chụp ảnh, lấy vân tay để xác "
                "thực. Tài khoản mức 2 có căn cước điện tử, giá trị như thẻ. Không bắt buộc cài "
                'VNeID. Quên mật khẩu: chọn "Quên mật khẩu" trong ứng dụng, xác thực số định '
                "danh, số điện thoại và mã OTP; mỗi tài khoản chỉ đăng nhập trên một thiết bị."
            ),
            time_limit="Chưa xác nhận; thực tế làm ngay tại chỗ",
            fee="Chưa xác nhận; thực tế không thu phí",
            legal_basis="NĐ 69/2024/NĐ-CP về định danh và xác thực điện tử (từ 01/7/2024).",
            department=Department.WARD,
            summary=(
                "VNeID mức 1 tự đăng ký trên điện thoại; mức 2 kích hoạt tại Công an xã/phường "
                "bằng thẻ căn cước gắn chip và số điện thoại chính chủ, làm tại chỗ."
            ),
            keywords=(
                "VNeID",
                "kích hoạt VNeID",
                "định danh mức 2",
                "tài khoản định danh",
                "quên mật khẩu VNeID",
                "đổi số điện thoại VNeID",
                "đổi điện thoại đăng nhập VNeID",
                "vneid muc 2",
                "kich hoat vneid",
                "dinh danh dien tu",
            ),
            unconfirmed=(
                "Thời hạn và lệ phí cấp tài khoản định danh điện tử chưa được xác nhận (thực tế "
                "làm tại chỗ, không thu phí).",
            ),
            sources=(
                "https://phapluatchinhsach.vn/quy-dinh-moi-trinh-tu-thu-tuc-thoi-han-cap-tai-khoan-dinh-danh-dien-tu-voi-cong-dan-viet-nam-tu-1-7.htm",
                "https://encovietnam.com/ban-tin-phap-luat/140/4642.html",
                "https://dantri.com.vn/cong-nghe/cach-xu-ly-trong-truong-hop-quen-mat-khau-dang-nhap-ung-dung-vneid-20251203003057624.htm",
            ),
        ),
    ),
    (
        "dang_ky_xe",
        ProcedureContent(
            name="Đăng ký xe, cấp biển số xe; đổi, cấp lại đăng ký và biển số",
            authority=(
                "Công an cấp xã (mô tô, xe gắn máy của người cư trú tại địa phương; một số nơi "
                "cả ô tô); Phòng Cảnh sát giao thông Công an tỉnh cho các trường hợp còn lại"
            ),
            who_may_file=(
                "Chủ xe thường trú hoặc tạm trú tại địa phương. Công an cấp xã không đăng ký xe "
                "tịch thu, xe từ 175 cm³ trở lên, biển số trúng đấu giá."
            ),
            documents=(
                Doc("Giấy khai đăng ký xe (kê khai trên cổng dịch vụ công)"),
                Doc("Giấy tờ của chủ xe: tài khoản VNeID mức 2 hoặc thẻ căn cước"),
                Doc("Chứng từ nguồn gốc xe: hóa đơn điện tử, phiếu kiểm tra xuất xưởng"),
                Doc("Chứng từ nộp lệ phí trước bạ"),
                Doc("Mang xe đến để kiểm tra, cà số khung, số máy"),
            ),
            filing_methods=(_IN, _GOV),
            filing_notes=(
                "Đăng ký lần đầu có thể làm trực tuyến toàn trình trên dichvucong.gov.vn, hoặc kê "
                "khai trực tuyến rồi mang xe đến bấm biển. Biển số định danh gắn với chủ xe: bán "
                "xe thì giữ lại biển, biển được lưu 5 năm."
            ),
            time_limit=(
                "Biển mới cấp ngay; chứng nhận đăng ký tối đa 02 ngày làm việc; biển đấu giá, "
                "đổi biển, biển định danh tối đa 07 ngày làm việc; cấp lại: xác minh 30 ngày "
                "rồi 02 ngày làm việc"
            ),
            fee="Theo TT 60/2023/TT-BTC, tùy khu vực và giá trị xe (mức cụ thể chưa xác nhận)",
            legal_basis=(
                "TT 79/2024/TT-BCA (ký 15/11/2024, hiệu lực 01/01/2025; Điều 4, Điều 7), sửa "
                "đổi bởi TT 13/2025/TT-BCA và TT 51/2025/TT-BCA (mã tỉnh mới từ 01/7/2025); lệ "
                "phí theo TT 60/2023/TT-BTC."
            ),
            department=Department.CSGT,
            summary=(
                "Xe máy của người thường trú hoặc tạm trú đăng ký tại Công an xã/phường: kê khai "
                "trên dịch vụ công rồi mang xe đến bấm biển, biển cấp ngay, giấy đăng ký trong 02 "
                "ngày làm việc."
            ),
            keywords=(
                "biển số",
                "bấm biển",
                "đăng ký xe máy mới",
                "cà vẹt",
                "cavet",
                "biển định danh",
                "làm giấy đăng ký xe",
                "xe mới mua",
                "bam bien so",
                "dang ky xe may",
                "bien so xe",
            ),
            unconfirmed=(
                "Mức lệ phí đăng ký xe cụ thể theo TT 60/2023/TT-BTC chưa được xác nhận.",
            ),
            sources=(
                "http://mygo.vn/thoi-han-cap-lai-chung-nhan-dang-ky-xe-bien-so-xe-tu-ngay-112025-la-bao-lau-n62092.html",
                "https://amp.doisongphapluat.com.vn/cong-an-tp-hcm-thong-bao-ve-noi-cap-doi-bien-so-xe-a668567.html",
                "https://nghean24h.vn/tinh-huong-phap-ly-vu-huan-hoa-hong-keu-cuu-vi-tranh-chap-bien-so-ngu-quy-9-a730323.html",
            ),
        ),
    ),
    (
        "sang_ten_xe",
        ProcedureContent(
            name="Thu hồi đăng ký, biển số và đăng ký sang tên xe",
            authority=(
                "Thu hồi: nơi đang quản lý hồ sơ xe; sang tên: Công an cấp xã hoặc Phòng Cảnh "
                "sát giao thông nơi người mua cư trú"
            ),
            who_may_file=(
                "Người bán (chủ xe) làm thu hồi; người mua đăng ký sang tên nơi mình cư trú. Xe "
                "đã qua nhiều chủ: người đang sử dụng xe làm thủ tục."
            ),
            documents=(
                Doc("Thu hồi: giấy khai thu hồi đăng ký, biển số"),
                Doc("Thu hồi: giấy tờ chủ xe, chứng nhận đăng ký xe và biển số"),
                Doc("Sang tên: giấy khai đăng ký xe, giấy tờ của chủ xe mới"),
                Doc("Sang tên: chứng từ chuyển quyền sở hữu (hợp đồng mua bán, cho tặng…)"),
                Doc("Sang tên: chứng từ nộp lệ phí trước bạ và chứng nhận thu hồi"),
            ),
            filing_methods=(_IN, _GOV),
            filing_notes=(
                "Chủ xe giữ lại giấy đăng ký và biển số, làm thu hồi trong 30 ngày kể từ ngày "
                "làm giấy tờ chuyển nhượng, quá hạn bị phạt; người mua đăng ký sang tên nơi mình "
                "cư trú, giấy khai đăng ký kê khai trên cổng dịch vụ công. Xe qua nhiều chủ (TT "
                "79/2024 Điều 32): người đang dùng xe đến cơ quan quản lý hồ sơ xe, kể cả ở tỉnh "
                "khác, làm thu hồi; thiếu giấy tờ mua bán trung gian thì cơ quan niêm yết, xác "
                "minh 30 ngày, xử phạt chủ cũ rồi giải quyết."
            ),
            time_limit="Tối đa 02 ngày làm việc cho mỗi bước (thu hồi, sang tên)",
            fee=(
                "Nguồn không nêu riêng; lệ phí đăng ký xe theo TT 60/2023/TT-BTC, cộng lệ phí "
                "trước bạ"
            ),
            legal_basis=(
                "TT 79/2024/TT-BCA (Điều 32 về xe qua nhiều chủ); quy định thu hồi trong 30 ngày "
                "có từ TT 24/2023/TT-BCA; lệ phí theo TT 60/2023/TT-BTC."
            ),
            department=Department.CSGT,
            summary=(
                "Bán xe thì người bán giữ biển, làm thu hồi trong 30 ngày; người mua sang tên tại "
                "Công an nơi mình cư trú. Mỗi bước tối đa 02 ngày làm việc."
            ),
            keywords=(
                "sang tên xe",
                "sang tên xe máy",
                "bán xe",
                "mua xe cũ",
                "rút hồ sơ gốc",
                "thu hồi biển số",
                "xe qua nhiều đời chủ",
                "sang ten xe",
                "ban xe may",
                "mua xe cu",
            ),
            unconfirmed=(
                "Thời hạn 30 ngày làm thu hồi kể từ ngày làm giấy tờ chuyển nhượng có từ TT "
                "24/2023; việc TT 79/2024 giữ nguyên quy định này chưa được xác nhận.",
            ),
            sources=(
                "https://m.xosobinhdinh.org/mua-xe-da-qua-nhieu-chu-lam-sao-de-sang-ten-2025011408190275.htm",
                "https://cafeauto.vn/thi-truong/thong-tu-24-tu-158-khi-ban-xe-chu-phai-giu-lai-ca-vet-va-bien-so-35777.html",
            ),
        ),
    ),
    (
        "nop_phat_giao_thong",
        ProcedureContent(
            name="Tra cứu, nộp phạt vi phạm giao thông trực tuyến",
            authority=(
                "Cơ quan ra quyết định xử phạt (Cảnh sát giao thông); nộp qua Cổng dịch vụ công "
                "quốc gia"
            ),
            who_may_file="Người bị lập biên bản hoặc nhận quyết định xử phạt vi phạm giao thông.",
            documents=(
                Doc("Số biên bản hoặc số quyết định xử phạt"),
                Doc("Tài khoản Cổng dịch vụ công quốc gia (đăng nhập bằng VNeID)"),
            ),
            filing_methods=(_GOV,),
            filing_notes=(
                "Đăng nhập dichvucong.gov.vn bằng VNeID → Nộp phạt vi phạm hành chính lĩnh vực "
                "giao thông → nhập số biên bản hoặc quyết định → thanh toán; giấy tờ bị tạm giữ "
                "nhận qua bưu điện hoặc tại cơ quan. Tra cứu phạt nguội trên csgt.vn hoặc ứng "
                "dụng VNeTraffic. Công an không báo phạt nguội qua tin nhắn hay cuộc gọi kèm "
                "đường link; thông báo luôn bằng văn bản."
            ),
            time_limit=(
                "Nộp trong 10 ngày kể từ khi nhận quyết định (hoặc theo quyết định); được nộp "
                "nhiều lần tối đa 06 tháng"
            ),
            fee=(
                "Số tiền phạt ghi trong quyết định; nộp quá hạn bị cưỡng chế và tính thêm 0,05% "
                "mỗi ngày"
            ),
            legal_basis=(
                "Luật Xử lý vi phạm hành chính 15/2012/QH13, sửa đổi năm 2020 và bởi Luật "
                "88/2025/QH15 (Điều 68, 78, 79); mức phạt theo NĐ 168/2024/NĐ-CP (chưa xác "
                "nhận)."
            ),
            department=Department.CSGT,
            summary=(
                "Nộp phạt giao thông online trên dichvucong.gov.vn trong 10 ngày kể từ khi nhận "
                "quyết định; tra phạt nguội trên csgt.vn hoặc VNeTraffic. Tin nhắn báo phạt kèm "
                "link là lừa đảo."
            ),
            keywords=(
                "phạt nguội",
                "nộp phạt online",
                "tra cứu phạt nguội",
                "biên bản vi phạm giao thông",
                "vượt đèn đỏ",
                "lấy lại giấy tờ bị giữ",
                "VNeTraffic",
                "phat nguoi",
                "nop phat giao thong",
                "tra phat nguoi",
            ),
            unconfirmed=("Mức phạt theo NĐ 168/2024/NĐ-CP chưa được xác nhận trong nguồn đã đọc.",),
            sources=(
                "https://soha.vn/bo-cong-an-lam-ro-hanh-vi-nop-tre-tien-phat-vi-pham-giao-thong-se-bi-cuong-che-thi-hanh-va-tinh-them-005-tien-lai-moi-ngay-198260227232533674.htm",
                "https://markettimes.vn/cong-an-tp-hcm-thong-bao-ve-viec-nop-phat-vi-pham-giao-thong-nguoi-dan-khong-nen-bo-qua-86794.html",
                "https://cafef.vn/mat-hang-tram-trieu-dong-vi-tin-nhan-phat-nguoi-lua-dao-188251215133352225.chn",
            ),
        ),
    ),
    (
        "doi_gplx",
        ProcedureContent(
            name="Cấp đổi, cấp lại giấy phép lái xe",
            authority=(
                "Bộ Công an (từ 01/3/2025 tiếp nhận sát hạch, cấp, đổi GPLX); đơn vị cụ thể ở "
                "tỉnh chưa xác nhận"
            ),
            who_may_file="Người có giấy phép lái xe cần đổi (hết hạn, đổi mẫu) hoặc cấp lại (mất, hỏng).",
            documents=(),
            filing_methods=(_GOV, _BCA),
            filing_notes=(
                "Nộp trực tuyến trên dichvucong.gov.vn hoặc dichvucong.bocongan.gov.vn, nộp lệ "
                "phí online và nhận GPLX qua bưu chính; GPLX hiển thị trên VNeID. Thời hạn GPLX: "
                "A1, A, B1 không thời hạn; B, C1: 10 năm; C, D…: 5 năm. GPLX cấp trước 01/01/2025 "
                "dùng đến hết hạn; nên đổi GPLX không thời hạn cấp trước 01/7/2012."
            ),
            time_limit="Khoảng 05 ngày làm việc khi nộp trực tuyến, nhận qua bưu chính (nguồn thứ cấp)",
            fee="Chưa xác nhận được",
            legal_basis="Luật Trật tự, an toàn giao thông đường bộ số 36/2024/QH15 (Điều 57).",
            department=Department.CSGT,
            summary=(
                "Đổi hoặc cấp lại bằng lái nộp online trên cổng dịch vụ công, nhận qua bưu điện "
                "khoảng 5 ngày làm việc. Bằng A1, A, B1 không có thời hạn nên không phải đổi."
            ),
            keywords=(
                "bằng lái",
                "GPLX",
                "đổi bằng lái",
                "bằng B2 hết hạn",
                "đổi bằng A1",
                "mất bằng lái xe",
                "bằng lái không thời hạn",
                "doi bang lai",
                "gplx het han",
                "bang lai xe",
            ),
            unconfirmed=(
                "Đơn vị cụ thể ở tỉnh tiếp nhận cấp, đổi GPLX chưa được xác nhận.",
                "Hồ sơ và lệ phí cấp đổi, cấp lại GPLX chưa được xác nhận.",
            ),
            sources=(
                "https://vietbao.vn/nguoi-dan-co-the-doi-giay-phep-lai-xe-qua-dich-vu-cong-truc-tuyen-531044.html",
                "https://www.24h.com.vn/o-to/quy-dinh-moi-ve-thay-doi-thoi-han-cua-giay-phep-lai-xe-c747a1597075.html",
            ),
        ),
    ),
    (
        "cap_ho_chieu",
        ProcedureContent(
            name="Cấp hộ chiếu phổ thông ở trong nước, báo mất hộ chiếu",
            authority=(
                "Phòng Quản lý xuất nhập cảnh Công an tỉnh hoặc Cục Quản lý xuất nhập cảnh; "
                "Công an xã không làm hộ chiếu"
            ),
            who_may_file=(
                "Công dân Việt Nam; trẻ dưới 14 tuổi do cha, mẹ hoặc người đại diện khai. Hộ "
                "chiếu từ 14 tuổi có hạn 10 năm; dưới 14 tuổi 5 năm, không gia hạn."
            ),
            documents=(
                Doc("Tờ khai đề nghị cấp hộ chiếu", "TK01"),
                Doc("Ảnh chân dung 4x6 cm, nền trắng (nộp online: ảnh dưới 2 MB)"),
                Doc("Cấp lại: hộ chiếu cũ hoặc đơn báo mất hộ chiếu"),
                Doc("Đơn báo mất hộ chiếu, nộp trong 02 ngày làm việc kể từ khi mất", "TK05"),
            ),
            filing_methods=(_IN, _BCA),
            filing_notes=(
                "Nộp trực tiếp tại Phòng Quản lý xuất nhập cảnh Công an tỉnh, hoặc trực tuyến "
                "trên dichvucong.bocongan.gov.vn (đăng nhập bằng VNeID, tải ảnh, thanh toán "
                "online, nhận hộ chiếu qua bưu điện)."
            ),
            time_limit="08 ngày làm việc tại Công an tỉnh; 05 ngày làm việc tại Cục (nguồn thứ cấp)",
            fee=(
                "200.000 đồng cấp mới; 400.000 đồng cấp lại do hỏng hoặc mất (mức giảm 10% khi "
                "nộp online chỉ áp dụng đến 31/12/2025)"
            ),
            legal_basis=(
                "Luật Xuất cảnh, nhập cảnh của công dân Việt Nam 49/2019/QH14, sửa đổi bởi Luật "
                "23/2023/QH15; tờ khai theo TT 31/2023/TT-BCA; lệ phí theo TT 25/2021/TT-BTC, "
                "mức giảm khi nộp trực tuyến theo TT 63/2023/TT-BTC (01/01/2024–31/12/2025)."
            ),
            department=Department.XUAT_NHAP_CANH,
            summary=(
                "Hộ chiếu làm tại Phòng Quản lý xuất nhập cảnh Công an tỉnh hoặc online trên "
                "dichvucong.bocongan.gov.vn, không làm ở Công an xã; khoảng 08 ngày làm việc, lệ "
                "phí 200.000 đồng. Mất hộ chiếu phải báo trong 02 ngày làm việc."
            ),
            keywords=(
                "hộ chiếu",
                "passport",
                "làm hộ chiếu online",
                "làm hộ chiếu cho con",
                "mất hộ chiếu",
                "hộ chiếu hết hạn",
                "đi du lịch nước ngoài",
                "ho chieu",
                "lam passport",
                "xuat nhap canh",
            ),
            unconfirmed=("Mã mẫu tờ khai TK01 theo TT 31/2023/TT-BCA chưa được xác nhận.",),
            sources=(
                "https://giadinh.suckhoedoisong.vn/nam-2025-hang-trieu-nguoi-lam-ho-chieu-passport-duoc-huong-them-mot-quyen-loi-172250327124131418.htm",
                "https://vietbao.vn/cach-lam-ho-chieu-online-moi-nhat-nam-2025-561565.html",
                "https://huggingface.co/datasets/doanhieung/vn-mps-public-service-faq",
            ),
        ),
    ),
    (
        "pccc_tham_dinh_thiet_ke",
        ProcedureContent(
            name="Thẩm định thiết kế, kiểm tra nghiệm thu về phòng cháy chữa cháy",
            authority=(
                "Phòng Cảnh sát PCCC&CNCH (PC07) Công an tỉnh cho công trình thuộc Phụ lục III "
                "NĐ 105/2025; Cục Cảnh sát PCCC&CNCH cho công trình quan trọng, cấp đặc biệt"
            ),
            who_may_file=(
                "Chủ đầu tư công trình thuộc Phụ lục III NĐ 105/2025/NĐ-CP. Ví dụ: khách sạn 7 "
                "tầng phải thẩm định, do Công an tỉnh giải quyết."
            ),
            documents=(
                Doc("Văn bản đề nghị thẩm định thiết kế về PCCC", "PC11"),
                Doc("Giấy tờ hợp pháp về đất đai hoặc văn bản chấp thuận chủ trương đầu tư"),
                Doc("Hồ sơ thiết kế kỹ thuật hoặc bản vẽ thi công"),
                Doc("Văn bản thẩm định thiết kế PCCC của chủ đầu tư"),
                Doc("Sau thi công: văn bản đề nghị kiểm tra công tác nghiệm thu về PCCC"),
            ),
            filing_methods=(_IN, _BCA),
            filing_notes=(
                "Nộp trên dichvucong.bocongan.gov.vn hoặc trực tiếp tại cơ quan Cảnh sát PCCC có "
                "thẩm quyền."
            ),
            time_limit="Chưa xác nhận được",
            fee="Chưa xác nhận được",
            legal_basis=(
                "Luật Phòng cháy, chữa cháy và cứu nạn, cứu hộ số 55/2024/QH15 (từ 01/7/2025); "
                "NĐ 105/2025/NĐ-CP; TT 36/2025/TT-BCA."
            ),
            department=Department.PCCC_CNCH,
            summary=(
                "Công trình thuộc Phụ lục III NĐ 105/2025 (ví dụ khách sạn 7 tầng) phải thẩm "
                "định thiết kế PCCC trước khi xây và kiểm tra nghiệm thu sau khi xây, nộp tại "
                "Cảnh sát PCCC Công an tỉnh hoặc trên dịch vụ công Bộ Công an."
            ),
            keywords=(
                "thẩm duyệt PCCC",
                "thẩm định thiết kế PCCC",
                "nghiệm thu PCCC",
                "bản vẽ PCCC",
                "xây khách sạn",
                "xây nhà trọ nhiều tầng",
                "tham duyet pccc",
                "nghiem thu pccc",
                "PC11",
            ),
            unconfirmed=(
                "Thời hạn và phí thẩm định, kiểm tra nghiệm thu về PCCC chưa được xác nhận.",
            ),
            sources=(
                "https://baonghean.vn/thu-tuc-tham-dinh-thiet-ke-phong-chay-chua-chay-gom-nhung-gi-10307153.html",
                "https://thuvienphapluat.vn/van-ban/Tai-nguyen-Moi-truong/Thong-tu-36-2025-TT-BCA-huong-dan-Luat-Phong-chay-chua-chay-va-cuu-nan-cuu-ho-658614.aspx",
            ),
        ),
    ),
    (
        "pccc_co_so",
        ProcedureContent(
            name=("An toàn PCCC cho nhà ở kết hợp kinh doanh, nhà trọ và cơ sở thuộc diện quản lý"),
            authority="Công an cấp xã hướng dẫn, kiểm tra; báo cháy gọi 114",
            who_may_file=(
                "Hộ gia đình có nhà ở kết hợp kinh doanh; chủ nhà trọ, karaoke, khách sạn và cơ "
                "sở khác thuộc Phụ lục I NĐ 105/2025/NĐ-CP."
            ),
            documents=(
                Doc(
                    "Cơ sở thuộc diện quản lý (Phụ lục I): hồ sơ quản lý về PCCC, nội quy và "
                    "phương án chữa cháy"
                ),
            ),
            filing_methods=(_IN,),
            filing_notes=(
                'Hộ kinh doanh nhỏ không thuộc Phụ lục I NĐ 105/2025 không có "giấy chứng nhận '
                'đủ điều kiện PCCC" (theo trả lời của Cục C07). Nhà ở kết hợp kinh doanh phải: '
                "dùng điện an toàn; bếp, nơi thờ cúng an toàn; có phương tiện chữa cháy; giữ lối "
                "thoát nạn thông thoáng; có biển báo; ngăn cháy giữa khu kinh doanh hàng dễ cháy, "
                "nguy hiểm và khu ở, không ngủ trong khu đó. Hỏi hướng dẫn tại Công an xã, "
                "phường."
            ),
            time_limit="Không áp dụng (không có thủ tục cấp giấy cho hộ kinh doanh nhỏ)",
            fee="Không có lệ phí được nêu",
            legal_basis=(
                "Luật Phòng cháy, chữa cháy và cứu nạn, cứu hộ số 55/2024/QH15 (Điều 20, 21); NĐ "
                "105/2025/NĐ-CP (Phụ lục I)."
            ),
            department=Department.PCCC_CNCH,
            summary=(
                "Nhà ở kết hợp kinh doanh nhỏ không cần giấy chứng nhận PCCC nhưng phải có bình "
                "chữa cháy, điện an toàn, lối thoát nạn; nhà trọ, karaoke, khách sạn thuộc diện "
                "quản lý phải có hồ sơ và phương án chữa cháy. Công an xã/phường hướng dẫn, kiểm "
                "tra."
            ),
            keywords=(
                "PCCC nhà trọ",
                "giấy PCCC",
                "bình chữa cháy",
                "báo cháy",
                "lối thoát hiểm",
                "kiểm tra PCCC",
                "nhà ở kết hợp kinh doanh",
                "phuong an chua chay",
                "pccc nha tro",
                "binh chua chay",
            ),
            unconfirmed=(
                "Phân cấp cụ thể việc Công an cấp xã hướng dẫn, kiểm tra PCCC chưa được xác nhận.",
                "Mẫu hồ sơ, phương án chữa cháy mới cho cơ sở thuộc diện quản lý chưa được xác "
                "nhận.",
            ),
            sources=(
                "https://www.canhsatpccc.gov.vn/vi/faq-contact/citizen-faq/965",
                "https://giadinh.suckhoedoisong.vn/khong-du-dieu-kien-nay-nam-2026-nhieu-nha-tro-phai-dung-hoat-dong-172260222005250731.htm",
            ),
        ),
    ),
    (
        "to_giac_toi_pham",
        ProcedureContent(
            name="Tố giác, tin báo về tội phạm, phản ánh an ninh trật tự",
            authority=(
                "Mọi cơ quan công an, gần nhất là trực ban Công an xã, phường; chuyển cơ quan "
                "điều tra có thẩm quyền"
            ),
            who_may_file="Bất kỳ ai biết về tội phạm, bị hại, hoặc người muốn phản ánh mất an ninh trật tự.",
            documents=(
                Doc("Đơn trình báo (nếu làm đơn)"),
                Doc("Giấy tờ tùy thân"),
                Doc("Chứng cứ: tin nhắn, số tài khoản, ảnh chụp, ghi âm…"),
            ),
            filing_methods=(_IN, _POST, _APP),
            filing_notes=(
                "Đến trực tiếp trụ sở công an; gọi 113 khi khẩn cấp, 114 khi cháy, cứu nạn; gọi "
                'số trực ban hoặc Zalo của Công an xã; dùng chức năng "Tố giác tội phạm" trên '
                "VNeID; hoặc nhắn qua trang mạng xã hội có tích xanh của Công an tỉnh."
            ),
            time_limit=(
                "Theo Bộ luật Tố tụng hình sự 2015 (Điều 144–147), thường 20 ngày (chưa xác nhận)"
            ),
            fee="Không thu phí",
            legal_basis="Bộ luật Tố tụng hình sự 2015 (Điều 144–147).",
            department=Department.TRUNG_TAM_CHI_HUY,
            summary=(
                "Khẩn cấp gọi 113 (cháy, cứu nạn 114); việc khác báo trực ban Công an xã/phường "
                'trực tiếp, qua điện thoại, Zalo hoặc mục "Tố giác tội phạm" trên VNeID, kèm '
                "chứng cứ nếu có."
            ),
            keywords=(
                "báo công an",
                "trình báo",
                "tố giác",
                "bị lừa đảo",
                "bị trộm",
                "gọi 113",
                "hàng xóm gây ồn",
                "đánh nhau",
                "bao cong an",
                "bi lua dao chuyen khoan",
                "trinh bao mat xe",
            ),
            unconfirmed=(
                "Thời hạn giải quyết tố giác thường là 20 ngày theo Bộ luật Tố tụng hình sự "
                "(Điều 144–147); chưa được xác nhận trong nguồn đã đọc.",
            ),
            sources=(
                "https://kenh14.vn/bi-lua-dao-qua-mang-lam-ngay-cac-buoc-sau-de-lay-lai-tien-20230916104010368.chn",
                "https://plo.vn/ky-nguyen-so/cach-phan-anh-khi-hang-xom-hat-karaoke-on-ao-post793886.html",
            ),
        ),
    ),
)
