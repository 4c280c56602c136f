"""The Tencent Cloud IM REST client: the only code that talks to Tencent.

``client`` makes the calls; ``errors`` maps every ErrorCode to retryable or permanent;
``models`` holds what calls return; ``ratelimit`` paces calls; ``regions`` names the domains.
"""

from gateway.clients.tencent_im.client import TencentIMClient
from gateway.clients.tencent_im.errors import (
    MembersNotAddedError,
    TencentIMPermanentError,
    TencentIMRetryableError,
)
from gateway.clients.tencent_im.models import (
    AddMembersResult,
    GroupInfo,
    HistoryMessage,
    HistoryPage,
    SentMessage,
)
from gateway.clients.tencent_im.regions import REGION_DOMAINS, base_url_for_region

__all__ = [
    "REGION_DOMAINS",
    "AddMembersResult",
    "GroupInfo",
    "HistoryMessage",
    "HistoryPage",
    "MembersNotAddedError",
    "SentMessage",
    "TencentIMClient",
    "TencentIMPermanentError",
    "TencentIMRetryableError",
    "base_url_for_region",
]
