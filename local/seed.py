"""The sample world both sandboxes serve: two Bitrix24 portals and the 1C base they feed.

Portal A is the full sample (deals 1001–1007, new invoices 501–502). Portal B is a second company's portal whose
deal ids overlap A's (1001, 1002) with other buyers, products and amounts; even its product ids mean other goods.

Bitrix24 companies, products and deals on one side; the 1C organisation, counterparties, contracts and
nomenclature they map to on the other. Figures on deals (OPPORTUNITY, TAX_VALUE) are worked out by hand with
Bitrix24's formulas, so they check the bridge's arithmetic rather than repeat it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

PORTAL_MEMBER_ID = "5b1f0c4e9a7d4c2e8f3a6b0d1e2c3f4a"
PORTAL_DOMAIN = "sandbox.bitrix24.test"
WEBHOOK_USER_ID = "1"
WEBHOOK_CODE = "sandboxwebhookcode0001"
APPLICATION_TOKEN = "sandbox-application-token-0001"
ONEC_USERNAME = "odata.user"
ONEC_PASSWORD = "sandbox-password"


@dataclass(frozen=True)
class Requisite:
    id: int
    entity_type_id: int  # 4 company, 3 contact
    entity_id: int
    preset_id: int  # 1 organisation (ООО/АО), 2 individual entrepreneur (ИП)
    name: str
    company_name: str
    company_full_name: str
    inn: str
    kpp: str
    ogrn: str = ""
    ogrnip: str = ""
    first_name: str = ""
    last_name: str = ""
    second_name: str = ""


@dataclass(frozen=True)
class Company:
    id: int
    title: str
    is_my_company: bool = False


@dataclass(frozen=True)
class Product:
    id: int
    name: str
    xml_id: str | None  # a 1C Ref_Key when the catalog came from 1C, else the numeric ID; None: never set
    vat_rate: Decimal | None  # None: without VAT
    vat_included: bool = True


@dataclass(frozen=True)
class ProductRow:
    id: int
    product_id: int  # 0 for a free-text row
    product_name: str
    price: Decimal  # per unit, tax included, after discount (as Bitrix24 stores PRICE)
    quantity: Decimal
    tax_rate: Decimal | None
    tax_included: bool
    discount_rate: Decimal = Decimal("0")
    measure_code: int = 796
    measure_name: str = "шт"


@dataclass(frozen=True)
class Deal:
    id: int
    title: str
    stage_id: str
    stage_semantic_id: str  # P in progress, S won, F lost
    category_id: int
    company_id: int
    opportunity: Decimal
    tax_value: Decimal
    rows: tuple[ProductRow, ...]
    currency_id: str = "RUB"
    is_manual_opportunity: bool = False
    requisite_id: int | None = None  # the requisite linked to the deal (crm.requisite.link.get)
    my_company_requisite_id: int = 1
    expected_outcome: str = ""  # what the replay must end with: created / skipped / rejected
    expected_reason: str = ""  # a fragment of the rejection text
    contact_id: int | None = None  # the client when the deal has no company


MY_COMPANY = Company(id=1, title="ООО «Бридж Софт»", is_my_company=True)

COMPANIES: tuple[Company, ...] = (
    MY_COMPANY,
    Company(id=11, title="ООО «Ромашка»"),
    Company(id=12, title="АО «Вектор»"),
    Company(id=13, title="ИП Иванов Пётр Сергеевич"),
    Company(id=14, title="ООО «Опечатка»"),
)

REQUISITES: tuple[Requisite, ...] = (
    Requisite(
        id=1,
        entity_type_id=4,
        entity_id=1,
        preset_id=1,
        name="Реквизиты Бридж Софт",
        company_name="ООО «Бридж Софт»",
        company_full_name="Общество с ограниченной ответственностью «Бридж Софт»",
        inn="7704407589",
        kpp="770401001",
        ogrn="1177746123456",
    ),
    Requisite(
        id=21,
        entity_type_id=4,
        entity_id=11,
        preset_id=1,
        name="Головной офис",
        company_name="ООО «Ромашка»",
        company_full_name="Общество с ограниченной ответственностью «Ромашка»",
        inn="7707083893",
        kpp="773601001",
        ogrn="1027700132195",
    ),
    Requisite(
        id=22,
        entity_type_id=4,
        entity_id=11,
        preset_id=1,
        name="Филиал в Туле",
        company_name="ООО «Ромашка» (Тульский филиал)",
        company_full_name="Общество с ограниченной ответственностью «Ромашка», Тульский филиал",
        inn="7707083893",
        kpp="710743001",
    ),
    Requisite(
        id=23,
        entity_type_id=4,
        entity_id=12,
        preset_id=1,
        name="Реквизиты",
        company_name="АО «Вектор»",
        company_full_name="Акционерное общество «Вектор»",
        inn="7736207543",
        kpp="770401001",
        ogrn="1027700229193",
    ),
    Requisite(
        id=24,
        entity_type_id=4,
        entity_id=13,
        preset_id=2,
        name="ИП",
        company_name="ИП Иванов Пётр Сергеевич",
        company_full_name="Индивидуальный предприниматель Иванов Пётр Сергеевич",
        inn="500100732259",
        kpp="",
        ogrnip="304500116000157",
        first_name="Пётр",
        last_name="Иванов",
        second_name="Сергеевич",
    ),
    Requisite(
        id=26,
        entity_type_id=3,
        entity_id=7,
        preset_id=2,
        name="ИП Петрова",
        company_name="ИП Петрова Анна Викторовна",
        company_full_name="Индивидуальный предприниматель Петрова Анна Викторовна",
        inn="772801510071",
        kpp="",
        ogrnip="318774600123452",
        first_name="Анна",
        last_name="Петрова",
        second_name="Викторовна",
    ),
    Requisite(
        id=25,
        entity_type_id=4,
        entity_id=14,
        preset_id=1,
        name="Реквизиты",
        company_name="ООО «Опечатка»",
        company_full_name="Общество с ограниченной ответственностью «Опечатка»",
        inn="7707083894",
        kpp="773601001",
    ),
)

# Nomenclature GUIDs in 1C; products imported from 1C carry them as xmlId.
NOMENCLATURE_LAPTOP = "6f1c2a10-8d3e-11ef-a1b2-0050569f62a1"
NOMENCLATURE_BABY_FOOD = "6f1c2a11-8d3e-11ef-a1b2-0050569f62a1"
NOMENCLATURE_COMMISSIONING = "6f1c2a12-8d3e-11ef-a1b2-0050569f62a1"
NOMENCLATURE_CONSULTING = "6f1c2a13-8d3e-11ef-a1b2-0050569f62a1"
NOMENCLATURE_SERVICE_PLAN = "6f1c2a14-8d3e-11ef-a1b2-0050569f62a1"
SERVICE_PLAN_CODE = "00-00000105"  # matched by Code: its Bitrix24 product was made by hand
# A 1C item that carries an Артикул (vendor code), for matching products by article instead of Code or GUID.
NOMENCLATURE_SERVICE_PLAN_ANNUAL = "6f1c2a15-8d3e-11ef-a1b2-0050569f62a1"
SERVICE_PLAN_ANNUAL_CODE = "00-00000106"
SERVICE_PLAN_ANNUAL_ARTICLE = "SP-STD-01"

PRODUCTS: tuple[Product, ...] = (
    Product(id=101, name="Ноутбук ProBook 450 G10", xml_id=NOMENCLATURE_LAPTOP, vat_rate=Decimal("22")),
    Product(id=102, name="Детское питание, паллета", xml_id=NOMENCLATURE_BABY_FOOD, vat_rate=Decimal("10")),
    Product(
        id=103, name="Пусконаладка оборудования (экспорт)", xml_id=NOMENCLATURE_COMMISSIONING, vat_rate=Decimal("0")
    ),
    Product(id=104, name="Консультация, час", xml_id=NOMENCLATURE_CONSULTING, vat_rate=None),
    Product(
        id=105, name="Сервисный план «Стандарт»", xml_id=SERVICE_PLAN_CODE, vat_rate=Decimal("22"), vat_included=False
    ),
)

D = Decimal

DEALS: tuple[Deal, ...] = (
    Deal(
        id=1001,
        title="Поставка ноутбуков и питания",
        stage_id="WON",
        stage_semantic_id="S",
        category_id=0,
        company_id=11,
        requisite_id=21,
        rows=(
            ProductRow(
                id=5001,
                product_id=101,
                product_name="Ноутбук ProBook 450 G10",
                price=D("122000.00"),
                quantity=D("2"),
                tax_rate=D("22"),
                tax_included=True,
            ),
            ProductRow(
                id=5002,
                product_id=102,
                product_name="Детское питание, паллета",
                price=D("90000.00"),
                quantity=D("3"),
                tax_rate=D("10"),
                tax_included=True,
            ),
        ),
        # 244000.00 (VAT 44000.00) + 270000.00 (VAT 24545.45)
        opportunity=D("514000.00"),
        tax_value=D("68545.45"),
        expected_outcome="created",
    ),
    Deal(
        id=1002,
        title="Пусконаладка и консультации",
        stage_id="C1:WON",
        stage_semantic_id="S",
        category_id=1,
        company_id=12,
        rows=(
            ProductRow(
                id=5003,
                product_id=103,
                product_name="Пусконаладка оборудования (экспорт)",
                price=D("50000.00"),
                quantity=D("1"),
                tax_rate=D("0"),
                tax_included=True,
            ),
            ProductRow(
                id=5004,
                product_id=104,
                product_name="Консультация, час",
                price=D("1500.50"),
                quantity=D("2.5"),
                tax_rate=None,
                tax_included=True,
            ),
        ),
        # 50000.00 (VAT 0 %) + 3751.25 (without VAT)
        opportunity=D("53751.25"),
        tax_value=D("0.00"),
        expected_outcome="created",
    ),
    Deal(
        id=1003,
        title="Сервисное обслуживание",
        stage_id="WON",
        stage_semantic_id="S",
        category_id=0,
        company_id=13,
        requisite_id=24,
        rows=(
            ProductRow(
                id=5005,
                product_id=105,
                product_name="Сервисный план «Стандарт»",
                price=D("1220.00"),
                quantity=D("3"),
                tax_rate=D("22"),
                tax_included=False,
            ),
            ProductRow(
                id=5006,
                product_id=101,
                product_name="Ноутбук ProBook 450 G10",
                price=D("109800.00"),
                quantity=D("1"),
                tax_rate=D("22"),
                tax_included=False,
                discount_rate=D("10"),
            ),
        ),
        # tax on top: 3000.00 + 660.00, and 90000.00 + 19800.00
        opportunity=D("113460.00"),
        tax_value=D("20460.00"),
        expected_outcome="created",
    ),
    Deal(
        id=1004,
        title="Переговоры о поставке",
        stage_id="PREPARATION",
        stage_semantic_id="P",
        category_id=0,
        company_id=11,
        requisite_id=21,
        rows=(
            ProductRow(
                id=5007,
                product_id=101,
                product_name="Ноутбук ProBook 450 G10",
                price=D("122000.00"),
                quantity=D("1"),
                tax_rate=D("22"),
                tax_included=True,
            ),
        ),
        opportunity=D("122000.00"),
        tax_value=D("22000.00"),
        expected_outcome="skipped",
    ),
    Deal(
        id=1005,
        title="Поставка с ошибкой в ИНН",
        stage_id="WON",
        stage_semantic_id="S",
        category_id=0,
        company_id=14,
        rows=(
            ProductRow(
                id=5008,
                product_id=101,
                product_name="Ноутбук ProBook 450 G10",
                price=D("122000.00"),
                quantity=D("1"),
                tax_rate=D("22"),
                tax_included=True,
            ),
        ),
        opportunity=D("122000.00"),
        tax_value=D("22000.00"),
        expected_outcome="rejected",
        expected_reason="7707083894",
    ),
    Deal(
        id=1006,
        title="Проигранная сделка",
        stage_id="LOSE",
        stage_semantic_id="F",
        category_id=0,
        company_id=12,
        rows=(
            ProductRow(
                id=5009,
                product_id=104,
                product_name="Консультация, час",
                price=D("1500.00"),
                quantity=D("1"),
                tax_rate=None,
                tax_included=True,
            ),
        ),
        opportunity=D("1500.00"),
        tax_value=D("0.00"),
        expected_outcome="skipped",
    ),
    Deal(
        id=1007,
        title="Консультации для ИП без компании",
        stage_id="WON",
        stage_semantic_id="S",
        category_id=0,
        company_id=0,
        contact_id=7,
        rows=(
            ProductRow(
                id=5010,
                product_id=104,
                product_name="Консультация, час",
                price=D("2000.00"),
                quantity=D("3"),
                tax_rate=None,
                tax_included=True,
            ),
        ),
        # the buyer is the contact's requisite: an individual entrepreneur, 12-digit INN, no KPP
        opportunity=D("6000.00"),
        tax_value=D("0.00"),
        expected_outcome="created",
    ),
)


# ---- 1C side ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OnecOrganization:
    ref_key: str
    description: str
    full_name: str
    inn: str
    kpp: str
    prefix: str


@dataclass(frozen=True)
class OnecCounterparty:
    ref_key: str
    code: str
    description: str
    full_name: str
    inn: str
    kpp: str
    legal_form: str  # ЮридическоеЛицо / ФизическоеЛицо


@dataclass(frozen=True)
class OnecContract:
    ref_key: str
    owner_key: str
    organization_key: str
    description: str
    kind: str = "СПокупателем"


@dataclass(frozen=True)
class OnecNomenclature:
    ref_key: str
    code: str
    description: str
    article: str = ""
    is_service: bool = False


@dataclass(frozen=True)
class OnecCurrency:
    ref_key: str
    code: str
    description: str
    full_name: str


@dataclass(frozen=True)
class OnecBase:
    organizations: tuple[OnecOrganization, ...]
    counterparties: tuple[OnecCounterparty, ...]
    contracts: tuple[OnecContract, ...]
    nomenclature: tuple[OnecNomenclature, ...]
    currencies: tuple[OnecCurrency, ...]
    unpublished: frozenset[str] = field(default_factory=frozenset)


ORGANIZATION_KEY = "87fa6cc2-e901-11ea-8591-000c29b45b09"
RUB_KEY = "a192de9a-d84c-11ea-8133-0050569f62a1"

ONEC_BASE = OnecBase(
    organizations=(
        OnecOrganization(
            ref_key=ORGANIZATION_KEY,
            description="Бридж Софт ООО",
            full_name="Общество с ограниченной ответственностью «Бридж Софт»",
            inn="7704407589",
            kpp="770401001",
            prefix="БС",
        ),
    ),
    counterparties=(
        OnecCounterparty(
            ref_key="b7569c0f-f670-11ea-8591-000c29b45b09",
            code="00-000001",
            description="Ромашка ООО",
            full_name="ООО «Ромашка»",
            inn="7707083893",
            kpp="773601001",
            legal_form="ЮридическоеЛицо",
        ),
        OnecCounterparty(
            ref_key="b7569c1f-f670-11ea-8591-000c29b45b09",
            code="00-000002",
            description="Ромашка ООО (Тульский филиал)",
            full_name="ООО «Ромашка», Тульский филиал",
            inn="7707083893",
            kpp="710743001",
            legal_form="ЮридическоеЛицо",
        ),
        OnecCounterparty(
            ref_key="b7569c2f-f670-11ea-8591-000c29b45b09",
            code="00-000003",
            description="Вектор АО",
            full_name="АО «Вектор»",
            inn="7736207543",
            kpp="770401001",
            legal_form="ЮридическоеЛицо",
        ),
        OnecCounterparty(
            ref_key="b7569c4f-f670-11ea-8591-000c29b45b09",
            code="00-000005",
            description="Петрова Анна Викторовна ИП",
            full_name="Индивидуальный предприниматель Петрова Анна Викторовна",
            inn="772801510071",
            kpp="",
            legal_form="ФизическоеЛицо",
        ),
        OnecCounterparty(
            ref_key="b7569c3f-f670-11ea-8591-000c29b45b09",
            code="00-000004",
            description="Иванов Пётр Сергеевич ИП",
            full_name="Индивидуальный предприниматель Иванов Пётр Сергеевич",
            inn="500100732259",
            kpp="",
            legal_form="ФизическоеЛицо",
        ),
    ),
    contracts=(
        OnecContract(
            ref_key="c1a00001-f670-11ea-8591-000c29b45b09",
            owner_key="b7569c0f-f670-11ea-8591-000c29b45b09",
            organization_key=ORGANIZATION_KEY,
            description="Основной договор",
        ),
        OnecContract(
            ref_key="c1a00002-f670-11ea-8591-000c29b45b09",
            owner_key="b7569c1f-f670-11ea-8591-000c29b45b09",
            organization_key=ORGANIZATION_KEY,
            description="Основной договор",
        ),
        OnecContract(
            ref_key="c1a00003-f670-11ea-8591-000c29b45b09",
            owner_key="b7569c2f-f670-11ea-8591-000c29b45b09",
            organization_key=ORGANIZATION_KEY,
            description="Договор поставки № 12",
        ),
        OnecContract(
            ref_key="c1a00004-f670-11ea-8591-000c29b45b09",
            owner_key="b7569c3f-f670-11ea-8591-000c29b45b09",
            organization_key=ORGANIZATION_KEY,
            description="Основной договор",
        ),
    ),
    nomenclature=(
        OnecNomenclature(ref_key=NOMENCLATURE_LAPTOP, code="00-00000101", description="Ноутбук ProBook 450 G10"),
        OnecNomenclature(ref_key=NOMENCLATURE_BABY_FOOD, code="00-00000102", description="Детское питание"),
        OnecNomenclature(
            ref_key=NOMENCLATURE_COMMISSIONING,
            code="00-00000103",
            description="Пусконаладка оборудования",
            is_service=True,
        ),
        OnecNomenclature(
            ref_key=NOMENCLATURE_CONSULTING, code="00-00000104", description="Консультация", is_service=True
        ),
        OnecNomenclature(
            ref_key=NOMENCLATURE_SERVICE_PLAN,
            code=SERVICE_PLAN_CODE,
            description="Сервисный план Стандарт",
            is_service=True,
        ),
        OnecNomenclature(
            ref_key=NOMENCLATURE_SERVICE_PLAN_ANNUAL,
            code=SERVICE_PLAN_ANNUAL_CODE,
            description="Сервисный план Стандарт, годовой",
            article=SERVICE_PLAN_ANNUAL_ARTICLE,
            is_service=True,
        ),
    ),
    currencies=(OnecCurrency(ref_key=RUB_KEY, code="643", description="руб.", full_name="Российский рубль"),),
)


# ---- new invoices (smart invoices, entityTypeId 31) --------------------------------------------------------


@dataclass(frozen=True)
class SmartInvoice:
    """A new-style invoice (``crm.item.*`` with ``entityTypeId=31``); stages are ``DT31_<category>:<code>``."""

    id: int
    title: str
    stage_id: str
    stage_semantic_id: str  # P in progress, S success, F failure
    category_id: int
    company_id: int
    opportunity: Decimal
    tax_value: Decimal
    rows: tuple[ProductRow, ...]
    currency_id: str = "RUB"
    is_manual_opportunity: bool = False
    requisite_id: int | None = None  # the client requisite linked to the invoice (crm.requisite.link.get)
    my_company_requisite_id: int = 1
    parent_deal_id: int | None = None  # parentId2: the deal the invoice was made from
    account_number: str = ""  # accountNumber: the invoice number
    expected_outcome: str = ""  # what the bridge must end with: created / skipped / rejected
    expected_reason: str = ""  # a fragment of the rejection text


SMART_INVOICE_CATEGORY_ID = 1
SMART_INVOICE_STAGE_NEW = "DT31_1:N"
SMART_INVOICE_STAGE_SENT = "DT31_1:S"

SMART_INVOICES: tuple[SmartInvoice, ...] = (
    SmartInvoice(
        id=501,
        title="Счёт по сделке 1002",
        stage_id=SMART_INVOICE_STAGE_SENT,
        stage_semantic_id="S",
        category_id=SMART_INVOICE_CATEGORY_ID,
        company_id=12,
        requisite_id=23,
        parent_deal_id=1002,
        account_number="СЧ-501",
        rows=(
            ProductRow(
                id=6001,
                product_id=101,
                product_name="Ноутбук ProBook 450 G10",
                price=D("122000.00"),
                quantity=D("1"),
                tax_rate=D("22"),
                tax_included=True,
            ),
        ),
        # 122000.00, VAT 22 % included: 122000 * 22 / 122 = 22000.00
        opportunity=D("122000.00"),
        tax_value=D("22000.00"),
        expected_outcome="created",
    ),
    SmartInvoice(
        id=502,
        title="Счёт на консультации",
        stage_id=SMART_INVOICE_STAGE_NEW,
        stage_semantic_id="P",
        category_id=SMART_INVOICE_CATEGORY_ID,
        company_id=11,
        requisite_id=21,
        rows=(
            ProductRow(
                id=6002,
                product_id=104,
                product_name="Консультация, час",
                price=D("1500.00"),
                quantity=D("2"),
                tax_rate=None,
                tax_included=True,
            ),
        ),
        # 2 × 1500.00 without VAT
        opportunity=D("3000.00"),
        tax_value=D("0.00"),
        expected_outcome="skipped",
    ),
)


# ---- portal B: a second portal whose ids overlap portal A's ----------------------------------------------

PORTAL_B_MEMBER_ID = "9c2e7a1d4b8f4e6a0d3c5b7e9f1a2c4d"
PORTAL_B_DOMAIN = "second.bitrix24.test"
PORTAL_B_WEBHOOK_CODE = "secondportalcode0002"
PORTAL_B_APPLICATION_TOKEN = "second-application-token-0002"

PORTAL_B_COMPANIES: tuple[Company, ...] = (
    MY_COMPANY,
    Company(id=11, title="АО «Вектор»"),  # portal A's company 11 is ООО «Ромашка»
    Company(id=12, title="ИП Иванов Пётр Сергеевич"),
)

PORTAL_B_REQUISITES: tuple[Requisite, ...] = (
    REQUISITES[0],  # the seller, the same organisation in 1C
    Requisite(
        id=21,
        entity_type_id=4,
        entity_id=11,
        preset_id=1,
        name="Реквизиты",
        company_name="АО «Вектор»",
        company_full_name="Акционерное общество «Вектор»",
        inn="7736207543",
        kpp="770401001",
        ogrn="1027700229193",
    ),
    Requisite(
        id=22,
        entity_type_id=4,
        entity_id=12,
        preset_id=2,
        name="ИП",
        company_name="ИП Иванов Пётр Сергеевич",
        company_full_name="Индивидуальный предприниматель Иванов Пётр Сергеевич",
        inn="500100732259",
        kpp="",
        ogrnip="304500116000157",
        first_name="Пётр",
        last_name="Иванов",
        second_name="Сергеевич",
    ),
)

PORTAL_B_PRODUCTS: tuple[Product, ...] = (
    Product(id=101, name="Консультация, час", xml_id=NOMENCLATURE_CONSULTING, vat_rate=None),  # A's 101: a laptop
    Product(id=102, name="Ноутбук ProBook 450 G10", xml_id=NOMENCLATURE_LAPTOP, vat_rate=Decimal("22")),
)

PORTAL_B_DEALS: tuple[Deal, ...] = (
    Deal(
        id=1001,
        title="Ноутбуки для Вектора",
        stage_id="WON",
        stage_semantic_id="S",
        category_id=0,
        company_id=11,
        requisite_id=21,
        rows=(
            ProductRow(
                id=7001,
                product_id=102,
                product_name="Ноутбук ProBook 450 G10",
                price=D("122000.00"),
                quantity=D("3"),
                tax_rate=D("22"),
                tax_included=True,
            ),
        ),
        # 366000.00, VAT 22 % included: 366000 * 22 / 122 = 66000.00
        opportunity=D("366000.00"),
        tax_value=D("66000.00"),
        expected_outcome="created",
    ),
    Deal(
        id=1002,
        title="Консультации ИП Иванова",
        stage_id="WON",
        stage_semantic_id="S",
        category_id=0,
        company_id=12,
        requisite_id=22,
        rows=(
            ProductRow(
                id=7002,
                product_id=101,
                product_name="Консультация, час",
                price=D("2500.00"),
                quantity=D("4"),
                tax_rate=None,
                tax_included=True,
            ),
        ),
        # 4 × 2500.00 without VAT
        opportunity=D("10000.00"),
        tax_value=D("0.00"),
        expected_outcome="created",
    ),
)
