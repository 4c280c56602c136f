"""The Tencent Cloud IM REST client: the only code that talks to Tencent.

``client`` makes the calls; ``errors`` maps every ErrorCode to retryable or permanent;
``models`` holds what calls return; ``ratelimit`` paces calls; ``regions`` names the domains.
Import from the submodules: this file stays empty so that reading the settings (which need
``regions``) does not load the client and its HTTP stack.
"""
