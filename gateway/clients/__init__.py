"""Clients for the outside world (Tencent IM, Salesforce): auth caches, timeouts, error mapping."""
