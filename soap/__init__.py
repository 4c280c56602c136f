"""Outbound Message XML: hardened parsing to typed notifications, ACK/Fault rendering, WSDL.

Empty until the Outbound Message endpoint is built; handlers never import it.
"""
