"""The Salesforce REST client: the only code that talks to Salesforce.

``client`` makes the calls; ``auth`` obtains and refreshes the OAuth token; ``errors`` maps
every REST error to retryable or permanent; ``models`` holds what calls return.
"""

from gateway.clients.salesforce.client import COMMENT_MAX_BYTES, SalesforceClient, split_comment
from gateway.clients.salesforce.errors import InvalidUserToken, SalesforceApiError, SalesforceRetryableError
from gateway.clients.salesforce.models import SalesforceUser, UserInfo

__all__ = [
    "COMMENT_MAX_BYTES",
    "InvalidUserToken",
    "SalesforceApiError",
    "SalesforceClient",
    "SalesforceRetryableError",
    "SalesforceUser",
    "UserInfo",
    "split_comment",
]
