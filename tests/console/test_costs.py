"""vidpipe.costs: the estimated Fargate price of a run, from the prices in the settings."""

from __future__ import annotations

import pytest

from vidpipe.costs import estimate_usd
from vidpipe.settings import Settings


def test_price_per_second_from_settings():
    settings = Settings(fargate_vcpu_hour_usd=0.036, fargate_gb_hour_usd=0.0036)
    # 2 vCPU and 4 GB for half an hour: (2 * 0.036 + 4 * 0.0036) / 2
    assert estimate_usd(1800, 2, 4, settings) == pytest.approx(0.0432)


def test_one_minute_minimum():
    settings = Settings(fargate_vcpu_hour_usd=3.6, fargate_gb_hour_usd=0)
    assert estimate_usd(5, 1, 2, settings) == pytest.approx(0.06)  # billed 60 s
    assert estimate_usd(90, 1, 2, settings) == pytest.approx(0.09)


def test_default_prices_are_the_documented_us_east_1_linux_x86_ones(monkeypatch):
    for name in ("VIDPIPE_FARGATE_VCPU_HOUR_USD", "VIDPIPE_FARGATE_GB_HOUR_USD"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert (settings.fargate_vcpu_hour_usd, settings.fargate_gb_hour_usd) == (0.04048, 0.004445)
