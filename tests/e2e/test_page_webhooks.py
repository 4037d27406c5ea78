"""The caller's webhook subscriptions and dead deliveries on the page, in a real Chromium:
a subscription is listed, a delivery whose every attempt failed is listed with its error,
and its "Redeliver" button sends it again (the API then shows it pending)."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from clearance.adapters.clock import wall_now
from clearance.adapters.webhook_sender import HttpSender
from clearance.service.webhooks import DeliveryPolicy, deliver_due
from tests.e2e.pagekit import Site, bearer, browser, page, sign_in, site, submit_over_api
from tests.webhook_receiver import receiving

__all__ = ["browser", "page", "site"]  # fixtures

ONE_TRY = DeliveryPolicy(attempts=1, base=0.0, jitter=0.0)


def test_a_dead_delivery_is_listed_and_redelivered_from_the_page(page: Page, site: Site) -> None:
    planner = bearer(site.operator())
    with receiving(statuses=[500]) as receiver:
        created = httpx.post(
            f"{site.base_url}/v1/subscriptions",
            json={
                "subscriber": {"kind": "operator", "name": "US.AFRICOM"},
                "url": receiver.url,
                "events": ["cleared"],
            },
            headers=planner,
        )
        assert created.status_code == 201, created.text
        request_id = str(submit_over_api(site, "01")["id"])  # cleared at once
        assert deliver_due(
            site.workflow.uow, HttpSender(allow_private=True), wall_now, ONE_TRY
        ) == (0, 1)

    sign_in(page, site.operator())
    subscription = page.locator(f'#subscriptions-items li[data-id="{created.json()["id"]}"]')
    expect(subscription).to_contain_text(receiver.url)
    expect(subscription).to_contain_text("for operator US.AFRICOM: cleared")
    (dead,) = httpx.get(f"{site.base_url}/v1/deliveries?status=dead", headers=planner).json()[
        "items"
    ]
    item = page.locator(f'#dead-items li[data-id="{dead["id"]}"]')
    expect(item).to_contain_text(f"cleared of {request_id}")
    expect(item).to_contain_text("HTTP 500")

    item.get_by_role("button", name=f"Redeliver {dead['id']}").click()
    expect(page.locator("#message")).to_have_text(f"Delivery {dead['id']} will be sent again.")
    expect(page.locator("#dead-items")).to_have_text("No dead delivery.")
    pending = httpx.get(f"{site.base_url}/v1/deliveries?status=pending", headers=planner)
    assert [d["id"] for d in pending.json()["items"]] == [dead["id"]]
