"""Demo data: Hoàng Mai district (Hà Nội) at real scale, loaded deterministically and idempotently."""

from adapters.demo.district import (
    DEMO_ADMIN_PHONE,
    DemoAccount,
    DemoSummary,
    demo_accounts,
    load_demo_district,
)

__all__ = [
    "DEMO_ADMIN_PHONE",
    "DemoAccount",
    "DemoSummary",
    "demo_accounts",
    "load_demo_district",
]
