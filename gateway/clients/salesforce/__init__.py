"""The Salesforce REST client: the only code that talks to Salesforce.

``client`` makes the calls; ``auth`` obtains and refreshes the OAuth token; ``errors`` maps
every REST error to retryable or permanent; ``models`` holds what calls return. Import from
the submodules.
"""
