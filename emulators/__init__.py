"""Faithful stand-ins for Tencent Cloud IM and Salesforce, as ASGI apps.

They import nothing from :mod:`gateway` beyond shared constants, so they stay independent
witnesses of the real services: a test that passes against them passes because the gateway
speaks the real protocol, not because both sides share a bug.
"""
