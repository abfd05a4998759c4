"""The sample deployment: a prefecture and two municipalities sharing one platform.

さくら県, あおば市 and みなと町 are fictional. Their codes use the prefecture number 99,
which no real prefecture has, with valid check digits.
"""

from __future__ import annotations

# Clearly a demo credential: the sample is only loaded into embedded (DEBUG) deployments.
DEMO_PASSWORD = "madoguchi-demo-2026"  # noqa: S105 - a demo password, printed on purpose  # nosec B105
# The sample staff's second factor (TOTP, RFC 6238), as demo as the password: staff must log
# in with a code, which `madoguchi identity demo-totp EMAIL` prints.
DEMO_TOTP_SECRET = "DEMOMADOGUCHISTAFFTOTPSECRETABCD"  # noqa: S105 - demo only, printed  # nosec B105

BODIES = [
    {
        "code": "990001",
        "name": "さくら県",
        "name_kana": "さくらけん",
        "name_en": "Sakura Prefecture",
        "kind": "prefecture",
    },
    {
        "code": "992011",
        "name": "あおば市",
        "name_kana": "あおばし",
        "name_en": "Aoba City",
        "kind": "municipality",
        "prefecture": "990001",
    },
    {
        "code": "993417",
        "name": "みなと町",
        "name_kana": "みなとまち",
        "name_en": "Minato Town",
        "kind": "municipality",
        "prefecture": "990001",
    },
]

# (body, code, name, name_en, kind, parent code)
UNITS = [
    ("990001", "kenko-fukushi", "健康福祉部", "Health and Welfare Department", "department", None),
    (
        "990001",
        "shogai-fukushi",
        "障害福祉課",
        "Disability Welfare Division",
        "division",
        "kenko-fukushi",
    ),
    ("990001", "kyoiku", "教育委員会事務局", "Board of Education Secretariat", "department", None),
    ("990001", "koko-kyoiku", "高校教育課", "High School Education Division", "division", "kyoiku"),
    ("992011", "shimin-seikatsu", "市民生活部", "Citizens' Affairs Department", "department", None),
    ("992011", "shiminka", "市民課", "Citizens Division", "division", "shimin-seikatsu"),
    ("992011", "shomei", "証明係", "Certificates Section", "section", "shiminka"),
    ("992011", "kenko-fukushi", "健康福祉部", "Health and Welfare Department", "department", None),
    (
        "992011",
        "kodomo-katei",
        "こども家庭課",
        "Children and Families Division",
        "division",
        "kenko-fukushi",
    ),
    ("992011", "kankyo", "環境部", "Environment Department", "department", None),
    (
        "992011",
        "seikatsu-kankyo",
        "生活環境課",
        "Living Environment Division",
        "division",
        "kankyo",
    ),
    ("992011", "somu", "総務部", "General Affairs Department", "department", None),
    ("992011", "somuka", "総務課", "General Affairs Division", "division", "somu"),
    ("992011", "dx", "DX推進課", "Digital Transformation Division", "division", "somu"),
    ("992011", "zaisei", "財政課", "Finance Division", "division", "somu"),
    ("993417", "chominka", "町民課", "Residents Division", "division", None),
]

RESIDENTS = [
    {
        "email": "hanako@example.jp",
        "display_name": "山田 花子",
        "profile": {
            "family_name": "山田",
            "given_name": "花子",
            "family_name_kana": "やまだ",
            "given_name_kana": "はなこ",
            "birth_date": "1988-06-15",
            "sex": "female",
            "postal_code": "9990001",
            "prefecture": "さくら県",
            "city": "あおば市",
            "street": "中央一丁目2番3号",
            "building": "",
            "phone": "+819012345678",
        },
        "note": "住民（登録情報あり）",
    },
    {
        "email": "taro@example.jp",
        "display_name": "佐藤 太郎",
        "profile": {},
        "note": "住民（登録情報なし）",
    },
]

# (email, name, body, unit, position, roles, note)
STAFF = [
    (
        "shimin.tanto@aoba.example.jp",
        "鈴木 一郎",
        "992011",
        "shiminka",
        "staff",
        ["case_worker"],
        "あおば市 市民課 担当職員",
    ),
    (
        "shimin.kakaricho@aoba.example.jp",
        "高橋 美咲",
        "992011",
        "shomei",
        "section_chief",
        ["case_worker", "approver"],
        "あおば市 市民課 証明係長（決裁者）",
    ),
    (
        "shimin.kacho@aoba.example.jp",
        "田中 健",
        "992011",
        "shiminka",
        "director",
        ["approver"],
        "あおば市 市民課長（決裁者）",
    ),
    (
        "kodomo.tanto@aoba.example.jp",
        "伊藤 さくら",
        "992011",
        "kodomo-katei",
        "staff",
        ["case_worker", "personal_data_handler"],
        "あおば市 こども家庭課 担当職員（特定個人情報等取扱担当者）",
    ),
    (
        "kankyo.tanto@aoba.example.jp",
        "渡辺 翔",
        "992011",
        "seikatsu-kankyo",
        "staff",
        ["case_worker"],
        "あおば市 生活環境課 担当職員",
    ),
    (
        "bunsho@aoba.example.jp",
        "小林 直子",
        "992011",
        "somuka",
        "chief",
        ["records_officer"],
        "あおば市 総務課 文書管理担当",
    ),
    (
        "dx@aoba.example.jp",
        "加藤 大輔",
        "992011",
        "dx",
        "staff",
        ["procedure_author"],
        "あおば市 DX推進課 手続作成担当",
    ),
    (
        "admin@aoba.example.jp",
        "吉田 誠",
        "992011",
        "dx",
        "deputy_director",
        ["administrator"],
        "あおば市 システム管理者",
    ),
    (
        "fukushi.tanto@sakura.example.jp",
        "山本 陽子",
        "990001",
        "shogai-fukushi",
        "staff",
        ["case_worker", "personal_data_handler"],
        "さくら県 障害福祉課 担当職員（特定個人情報等取扱担当者）",
    ),
    (
        "koko.tanto@sakura.example.jp",
        "中村 優",
        "990001",
        "koko-kyoiku",
        "staff",
        ["case_worker"],
        "さくら県 高校教育課 担当職員",
    ),
    (
        "chomin.tanto@minato.example.jp",
        "松本 光",
        "993417",
        "chominka",
        "staff",
        ["case_worker", "approver"],
        "みなと町 町民課 担当職員",
    ),
    # Approvers of the sample routes (sample/routes/): 課長, 課長補佐 and 部長.
    (
        "shimin.hosa@aoba.example.jp",
        "井上 真理",
        "992011",
        "shiminka",
        "deputy_director",
        ["approver"],
        "あおば市 市民課長補佐（市民課長の代決者）",
    ),
    (
        "shimin.bucho@aoba.example.jp",
        "木村 浩",
        "992011",
        "shimin-seikatsu",
        "director_general",
        ["approver"],
        "あおば市 市民生活部長（決裁者）",
    ),
    (
        "fukushi.bucho@aoba.example.jp",
        "岡田 秀樹",
        "992011",
        "kenko-fukushi",
        "director_general",
        ["approver"],
        "あおば市 健康福祉部長（決裁者）",
    ),
    (
        "kodomo.kacho@aoba.example.jp",
        "林 恵",
        "992011",
        "kodomo-katei",
        "director",
        ["approver"],
        "あおば市 こども家庭課長（決裁者）",
    ),
    (
        "kankyo.kacho@aoba.example.jp",
        "清水 修",
        "992011",
        "seikatsu-kankyo",
        "director",
        ["approver"],
        "あおば市 生活環境課長（決裁者）",
    ),
    (
        "somu.kacho@aoba.example.jp",
        "山口 徹",
        "992011",
        "somuka",
        "director",
        ["approver"],
        "あおば市 総務課長（合議先）",
    ),
    (
        "zaisei.kacho@aoba.example.jp",
        "森 和子",
        "992011",
        "zaisei",
        "director",
        ["approver"],
        "あおば市 財政課長（合議先）",
    ),
    (
        "fukushi.kacho@sakura.example.jp",
        "池田 隆",
        "990001",
        "shogai-fukushi",
        "director",
        ["approver"],
        "さくら県 障害福祉課長（決裁者）",
    ),
    (
        "koko.kacho@sakura.example.jp",
        "橋本 彩",
        "990001",
        "koko-kyoiku",
        "director",
        ["approver"],
        "さくら県 高校教育課長（決裁者）",
    ),
    (
        "chomin.kacho@minato.example.jp",
        "石川 学",
        "993417",
        "chominka",
        "director",
        ["approver"],
        "みなと町 町民課長（決裁者）",
    ),
]

# 文書記号 of units that number their approved documents (文書番号: 「青市民第12号」).
DOCUMENT_SYMBOLS = {
    ("992011", "shiminka"): "青市民",
    ("992011", "kodomo-katei"): "青こ家",
    ("992011", "seikatsu-kankyo"): "青生環",
    ("992011", "somuka"): "青総",
    ("992011", "zaisei"): "青財",
    ("992011", "dx"): "青DX",
    ("990001", "shogai-fukushi"): "さ障福",
    ("990001", "koko-kyoiku"): "さ高教",
    ("993417", "chominka"): "み町民",
}

# 代決: (principal, deputy, days from loading) — the 市民課長 is away for two weeks.
DELEGATIONS = [("shimin.kacho@aoba.example.jp", "shimin.hosa@aoba.example.jp", 14)]
